import { z } from 'zod';
import type { EventProblem, RxEvent, StoredEvent } from './event-types';
import { EVENT_LIMITS } from './event-types';

/**
 * THE event schema (zod): the intake validates with it, the consumer re-validates what it
 * reads from the queue, the trainer reads JSONL/MongoDB through it. Plain types live in
 * `./event-types.ts` (no zod) and are re-exported here; the checks at the bottom of this
 * file fail the build if the two drift apart.
 */
export * from './event-types';

/** Longest id (product, order, user) an event may carry; the API and the activity lists take as long. */
export const MAX_ID_CHARS = 256;
const MAX_NAME_CHARS = 200;
const MAX_PRODUCTS = 500;

/**
 * Deepest nesting of objects and arrays in an event. MongoDB stores at most 100 levels, and
 * `JSON.stringify` overflows the stack at a few thousand; real events use under ten.
 */
export const MAX_EVENT_DEPTH = 32;

/**
 * Half of a UTF-16 surrogate pair without its other half: MongoDB stores it as U+FFFD, so two ids that
 * differ only there would become one (two messageIds, one event dropped as a duplicate).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (text: string) => !LONE_SURROGATE.test(text);
const NOT_WELL_FORMED = 'must be well-formed Unicode (a lone surrogate, e.g. a string cut mid-character)';

/**
 * Ids sent as numbers (common in Segment sources) are kept as their decimal string; past 2^53 a JSON
 * number is already rounded when it arrives (9007199254740993 reads as ...992), so two ids would be one.
 */
const IdSchema = z
  .union(
    [
      z.string(),
      z
        .number()
        .refine((value) => Math.abs(value) <= Number.MAX_SAFE_INTEGER, {
          message: 'a number id must be at most 2^53 - 1; send larger ones as strings',
        })
        .transform((value) => String(value)),
    ],
    { error: 'must be a string or a number' },
  )
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_ID_CHARS, `must be at most ${MAX_ID_CHARS} characters`)
      .refine(wellFormed, NOT_WELL_FORMED),
  );

/**
 * An optional field that may also be sent as `null`, which means absent: Segment's own libraries
 * (analytics-python, for one) send `"userId": null` for anonymous calls and `"name": null` for
 * unnamed pages. Refusing those would refuse nearly every event such a source sends.
 */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema.optional());
}

/**
 * Whether an id field says no id: absent, `null` (see `optional`) or `""`. RudderStack JS (v1.1) sends
 * `"userId": ""` for every visitor who has not identified, and senders fill `sku` or `order_id` with
 * `""` when they have none; refusing those would refuse nearly every browser event such a source sends.
 */
export function isMissingId(value: unknown): value is null | undefined | '' {
  return value == null || value === '';
}

/**
 * An optional id (user, anonymous, product, order): `""` is absent as `null` is, and is dropped, never
 * stored as `""`: readers that group by id (the live counters, activity lists, the trainer) would take
 * `""` for one shopper or one product.
 */
const optionalId = z.preprocess((value) => (isMissingId(value) ? undefined : value), IdSchema.optional());

/**
 * A product id: an optional id without surrounding whitespace. A shop's `data-rx-product-id="85123A "`
 * reaches events from the plugin and from proxy mode as written, while the API, the plugin's own lookups
 * and the catalogue compare ids trimmed: untrimmed, the view went into activity and training as another
 * product than the catalogue's. Only product ids: message, shopper and order ids are compared exactly.
 */
const productId = z.preprocess((value) => (typeof value === 'string' ? value.trim() : value), optionalId);

const CurrencySchema = z.string().regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 code such as "GBP"');

/** A plain decimal number written as a string: `"49.90"`, `"-3"`, `"2"` (no grouping, no exponent). */
const DECIMAL_STRING = /^\s*-?\d{1,15}(?:\.\d{1,15})?\s*$/;

/**
 * A number, also when sent as a plain decimal string (`"revenue": "49.90"`): shops' data layers often
 * hold prices as the strings they render, and refusing the event would lose an order over its type.
 * Stored as the number. Anything else that is not a number (`"£49.90"`, `"1,234.50"`) is refused.
 */
function numeric(schema: z.ZodNumber = z.number()) {
  return z.preprocess(
    (value) => (typeof value === 'string' && DECIMAL_STRING.test(value) ? Number(value) : value),
    schema,
  );
}

const productShape = {
  product_id: productId,
  sku: optionalId,
  name: optional(z.string()),
  category: optional(z.string()),
  brand: optional(z.string()),
  variant: optional(z.string()),
  price: optional(numeric()),
  quantity: optional(numeric(z.number().int('must be a whole number').min(0, 'must not be negative'))),
  currency: optional(CurrencySchema),
  position: optional(numeric()),
  url: optional(z.string()),
  image_url: optional(z.string()),
};

/** One product of `properties` or `properties.products[]`; unknown keys are kept as sent. */
export const ProductPropertiesSchema = z.looseObject(productShape);

/** `properties` of an event. */
export const EventPropertiesSchema = z.looseObject({
  ...productShape,
  products: optional(z.array(ProductPropertiesSchema).max(MAX_PRODUCTS, `at most ${MAX_PRODUCTS} products`)),
  order_id: optionalId,
  revenue: optional(numeric()),
  total: optional(numeric()),
  recommendation_id: optional(z.string().max(MAX_ID_CHARS)),
  model_version: optional(z.string().max(MAX_ID_CHARS)),
  placement: optional(z.string().max(MAX_NAME_CHARS)),
  query: optional(z.string()),
});

const TIMESTAMP_MESSAGE = 'must be an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z';
const StrictIsoTimestampSchema = z.iso.datetime({ offset: true, message: TIMESTAMP_MESSAGE });

/**
 * ISO 8601 forms senders send that `z.iso.datetime` refuses: a zone offset without its colon
 * (`+0200`: PHP's DATE_ISO8601, Java's SimpleDateFormat `Z`) or in whole hours (`+02`), and times
 * without seconds (`2024-05-01T12:00Z`). Refusing them would refuse the whole event (an order).
 */
const LENIENT_TIMESTAMP =
  /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * A date-time in one of the LENIENT_TIMESTAMP forms as the same instant in UTC, `toISOString`'s form
 * (`2024-05-01T10:00:00.000Z`); any other value as given (the strict forms stay as sent).
 */
function normalisedTimestamp(value: unknown): unknown {
  if (typeof value !== 'string' || StrictIsoTimestampSchema.safeParse(value).success) return value;
  const match = LENIENT_TIMESTAMP.exec(value);
  if (!match) return value;
  const [, date, hours, minutes, seconds = '00', fraction = '', zone = 'Z'] = match;
  const offset = zone === 'Z' ? zone : `${zone.slice(0, 3)}:${zone.length > 3 ? zone.slice(-2) : '00'}`;
  // Checked in the strict form (month lengths, hours up to 23) before Date.parse reads it.
  const strict = `${date}T${hours}:${minutes}:${seconds}${fraction}${offset}`;
  return StrictIsoTimestampSchema.safeParse(strict).success
    ? new Date(Date.parse(strict)).toISOString()
    : value;
}

/**
 * An ISO 8601 date-time with a zone: RFC 3339 (`2024-05-01T12:00:00Z`, `...+02:00`), stored as sent,
 * or a LENIENT_TIMESTAMP form, stored as the same instant in UTC.
 */
const IsoTimestampSchema = z.preprocess(normalisedTimestamp, StrictIsoTimestampSchema);

/**
 * A date-time as `timestamp` takes it (IsoTimestampSchema), as it would be stored, e.g. a sender's
 * `sentAt` or `originalTimestamp`; undefined for anything else.
 */
export function isoTimestampOf(value: unknown): string | undefined {
  const parsed = IsoTimestampSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

const eventShape = {
  type: z.enum(['track', 'page', 'identify'], { message: 'must be "track", "page" or "identify"' }),
  event: optional(z.string().min(1, 'must not be empty').max(MAX_NAME_CHARS)),
  name: optional(z.string().max(MAX_NAME_CHARS)),
  messageId: optional(
    z.string().min(1, 'must not be empty').max(MAX_ID_CHARS).refine(wellFormed, NOT_WELL_FORMED),
  ),
  anonymousId: optionalId,
  userId: optionalId,
  timestamp: optional(IsoTimestampSchema),
  context: optional(z.record(z.string(), z.unknown())),
  properties: optional(EventPropertiesSchema),
  traits: optional(z.record(z.string(), z.unknown())),
};

/**
 * Rules that span fields, shared by the input and the stored schema. They also run when a
 * field failed its own check (see `crossFieldRules`), so the sender gets every reason at once;
 * hence the value is read as an untyped record.
 */
function checkEventRules(event: Record<string, unknown>, ctx: z.RefinementCtx): void {
  // `== null`: a field sent as null is absent (see `optional`), as is an id sent as "" (`optionalId`).
  if (event.type === 'track' && event.event == null) {
    ctx.addIssue({ code: 'custom', path: ['event'], message: 'is required for a track call' });
  }
  if (isMissingId(event.anonymousId) && isMissingId(event.userId)) {
    ctx.addIssue({ code: 'custom', path: ['anonymousId'], message: 'anonymousId or userId is required' });
  }
  for (const key of Object.keys(event)) {
    // Top-level field names starting with `$`: MongoDB 5.0+ stores them, but its query language,
    // updates and aggregation read a leading `$` as an operator or a field path, so the trainer's
    // pipelines could not address them, and servers before 5.0 refuse them. Refused here, by name.
    if (key.startsWith('$'))
      ctx.addIssue({ code: 'custom', path: [key], message: 'field names must not start with "$"' });
  }
}

const crossFieldRules = {
  when: (payload: { value: unknown }) =>
    typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
};

/** An event as senders post it. Unknown top-level keys (`integrations`, `sentAt`, ...) are kept. */
export const RxEventSchema = z.looseObject(eventShape).superRefine(checkEventRules, crossFieldRules);

/** The enriched event carried by the queue (see `StoredEvent`). */
export const StoredEventSchema = z
  .looseObject({
    ...eventShape,
    messageId: z.string().min(1).max(MAX_ID_CHARS),
    timestamp: IsoTimestampSchema,
    receivedAt: IsoTimestampSchema,
    site: z.string().min(1),
    bucket: z.enum(['treatment', 'holdout']),
    model_version: z.string().nullable(),
  })
  .superRefine(checkEventRules, crossFieldRules);

/** Keys a sender must never set: the server owns them, and `writeKey` is a credential not to store. */
export const SERVER_OWNED_KEYS = [
  '_id',
  'receivedAt',
  'site',
  'bucket',
  'model_version',
  'writeKey',
] as const;

const encoder = new TextEncoder();

/** Size of a value as UTF-8 JSON, the way Segment measures its 32 KB / 500 KB limits. */
export function jsonByteSize(value: unknown): number {
  return encoder.encode(JSON.stringify(value) ?? '').byteLength;
}

/** Turns zod issues into `{ field, reason }` with dotted paths (`properties.products.0.price`). */
export function describeIssues(error: {
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>;
}): EventProblem[] {
  return error.issues.map((issue) => {
    const field = issue.path.map(String).join('.');
    return field ? { field, reason: issue.message } : { reason: issue.message };
  });
}

/**
 * `JSON.parse` makes a `"__proto__"` key an own field, but a copy made by assignment would set the
 * copy's prototype instead, so zod's objects and records skip it: the field vanished from the stored
 * event without a word. Refused by name, as NUL names are, and at any depth: any reader that copies
 * the stored event (the consumer and the trainer validate with these schemas) would lose it the same way.
 */
const PROTO_KEY = '__proto__';
const PROTO_REASON = 'field names must not be "__proto__" (JavaScript objects cannot keep it as a field)';

/** Result of validating one event; `tooLarge` marks a size rejection (413 when nothing else was sent). */
export type EventCheck<T> = { ok: true; event: T } | { ok: false; problems: EventProblem[]; tooLarge?: true };

/**
 * What MongoDB (and JSON) cannot take, found before anything recurses into the value: nesting deeper
 * than MAX_EVENT_DEPTH, and field names with a NUL character (BSON ends names with one). Either
 * would fail the consumer's whole write with every event beside it. Also a field named `__proto__`
 * (PROTO_KEY). Iterative, so no depth of input can overflow the stack.
 */
export function structureProblem(raw: unknown): EventProblem | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: raw, depth: 0, path: '' }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, depth, path } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_EVENT_DEPTH) {
      return { field: path, reason: `is nested more than ${MAX_EVENT_DEPTH} levels deep` };
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) {
        return {
          field: childPath.replaceAll('\u0000', '\\u0000'),
          reason: 'field names must not contain a NUL character',
        };
      }
      if (key === PROTO_KEY) return { field: childPath, reason: PROTO_REASON };
      stack.push({ value: child, depth: depth + 1, path: childPath });
    }
  }
  return undefined;
}

/**
 * Validates one posted event, size limit included (`maxBytes`: the intake's; a reader of stored events
 * passes Infinity, since the worker's own fields made an event at the limit larger). Never throws.
 */
export function validateEvent(
  raw: unknown,
  { maxBytes = EVENT_LIMITS.maxEventBytes }: { maxBytes?: number } = {},
): EventCheck<RxEvent> {
  const problem = structureProblem(raw);
  if (problem !== undefined) return { ok: false, problems: [problem] };
  const bytes = jsonByteSize(raw);
  if (bytes > maxBytes) {
    return {
      ok: false,
      tooLarge: true,
      problems: [{ reason: `event is ${bytes} bytes; the limit is ${maxBytes} bytes` }],
    };
  }
  const parsed = RxEventSchema.safeParse(raw);
  return parsed.success
    ? { ok: true, event: parsed.data }
    : { ok: false, problems: describeIssues(parsed.error) };
}

/** Validates an enriched event read back from the queue, a file or MongoDB. Never throws. */
export function validateStoredEvent(raw: unknown): EventCheck<StoredEvent> {
  const problem = structureProblem(raw);
  if (problem !== undefined) return { ok: false, problems: [problem] };
  const parsed = StoredEventSchema.safeParse(raw);
  return parsed.success
    ? { ok: true, event: parsed.data }
    : { ok: false, problems: describeIssues(parsed.error) };
}

// Compile-time guarantees that the zod schemas and the plain types describe the same data.
type Assert<T extends true> = T;
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type _RxEventMatches = Assert<Mutual<z.output<typeof RxEventSchema>, RxEvent>>;
export type _StoredEventMatches = Assert<Mutual<z.output<typeof StoredEventSchema>, StoredEvent>>;
