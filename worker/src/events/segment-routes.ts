import { zValidator } from '@hono/zod-validator';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { describeIssues, EVENT_LIMITS, jsonByteSize } from '../../../contracts/events';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { limitBodySize } from '../middleware/body-size-limit';
import type { EnrichOptions } from './enrich';
import { acceptEvents } from './intake';
import { acceptJsonBody } from './json-body';
import { QueueSendError } from './producer';
import { queueUnavailable } from './queue-unavailable';
import { requireSegmentWriteKey } from './segment-auth';

/**
 * A JSON object, passed on as parsed: a zod record would be a copy, and a copy drops a `"__proto__"`
 * key without a word, where the event's validation refuses it by name (contracts/events.ts).
 */
const JsonObjectSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'must be a JSON object',
);

/** Segment HTTP tracking API `/v1/batch` body; `context` applies to every event of the batch. */
const SegmentBatchSchema = z.looseObject({
  batch: z
    .array(z.unknown())
    .min(1, 'must hold at least one event')
    .max(EVENT_LIMITS.maxBatchEvents, `must hold at most ${EVENT_LIMITS.maxBatchEvents} events`),
  context: JsonObjectSchema.optional(),
});

/** `/v1/track`, `/v1/t` and the other single calls: one event object; its type comes from the path. */
const SegmentCallSchema = JsonObjectSchema;

/** zValidator hook: a body of the wrong shape is a 400 with the zod reasons as details. */
function invalidBody(message: string) {
  return (result: { success: true } | { success: false; error: Parameters<typeof describeIssues>[0] }) => {
    if (!result.success) throw new ApiError(400, 'invalid_request', message, describeIssues(result.error));
  };
}

/**
 * Segment's call types, each at its long path (`/v1/track`, Segment's HTTP tracking API) and its short
 * one (`/v1/t`: `${apiHost}/${type.charAt(0)}`, where Segment's browser library, analytics.js 2.0 /
 * @segment/analytics-next, posts). The worker stores the first three; the others are answered as
 * `/v1/batch` answers an event of that type: refused, naming `type` (400 when it is the only event).
 */
const CALL_TYPES = ['track', 'page', 'identify', 'screen', 'group', 'alias'] as const;
/** `/v1/batch`, and `/v1/b` where analytics.js 2.0 posts in its batching mode. */
const BATCH_PATHS = ['/batch', '/b'];
const callPaths = (type: string) => [`/${type}`, `/${type.charAt(0)}`];

/**
 * The routes' paths as the app mounts them (`app.route('/v1', segmentRoutes)` in app.ts): their CORS
 * preflight allows the headers Segment-compatible browser libraries send (middleware/shop-cors.ts), and
 * the server sources' write key exempts them from the rate limit (middleware/rate-limit.ts).
 */
export const SEGMENT_CALL_PATHS: readonly string[] = [...BATCH_PATHS, ...CALL_TYPES.flatMap(callPaths)].map(
  (path) => `/v1${path}`,
);

/**
 * Segment-compatible intake (Segment's HTTP tracking API bodies and write-key Basic auth, and the
 * short paths of analytics.js 2.0), so a shop's existing Segment/RudderStack sources can point at the
 * worker. Answers like Segment: `200 { success: true }`, plus `accepted` and `rejected` (per-event reasons).
 */
export const segmentRoutes = new Hono<AppEnv>();

for (const path of BATCH_PATHS) {
  segmentRoutes.post(
    path,
    limitBodySize(EVENT_LIMITS.maxBatchBytes),
    acceptJsonBody(EVENT_LIMITS.maxBatchBytes),
    requireSegmentWriteKey(),
    zValidator('json', SegmentBatchSchema, invalidBody('Send {"batch": [event, ...]}')),
    async (c) => {
      // `writeKey` (analytics.js 2.0 sends it in the body) is a credential: never stored, nor is it in
      // the events (enrich.ts drops the key from each).
      const { batch, context, sentAt } = c.req.valid('json');
      if (context !== undefined) assertContextFits(context, batch.length);
      const events = context === undefined ? batch : batch.map((raw) => withBatchContext(raw, context));
      // The batch's `sentAt` (analytics-node and RudderStack's server SDKs send it there) dates the
      // events that have only an `originalTimestamp` and no `sentAt` of their own (enrich.ts senderTime).
      return answer(c, events, { sentAt });
    },
  );
}

for (const type of CALL_TYPES) {
  for (const path of callPaths(type)) {
    segmentRoutes.post(
      path,
      limitBodySize(EVENT_LIMITS.maxEventBytes),
      acceptJsonBody(EVENT_LIMITS.maxEventBytes),
      requireSegmentWriteKey(),
      zValidator('json', SegmentCallSchema, invalidBody(`Send one ${type} call as a JSON object`)),
      async (c) => {
        // `writeKey` is a credential: never stored with the event.
        const { writeKey: _credential, ...event } = c.req.valid('json');
        return answer(c, [{ ...event, type }]);
      },
    );
  }
}

async function answer(c: Context<AppEnv>, events: readonly unknown[], options: EnrichOptions = {}) {
  try {
    const result = await acceptEvents(c.env, events, options);
    return c.json({ success: true, ...result }, 200);
  } catch (error) {
    if (error instanceof QueueSendError) return queueUnavailable(c, error);
    throw error;
  }
}

/**
 * The batch `context` is copied into every event after the body's 500 KB was checked: repeated that
 * many times it must fit the same limit, or a 200 KB body (5,000 tiny events, a 30 KB context) would
 * queue 150 MB.
 */
function assertContextFits(context: Record<string, unknown>, events: number): void {
  let bytes: number;
  try {
    bytes = jsonByteSize(context);
  } catch {
    bytes = Number.POSITIVE_INFINITY; // too deep to measure: too deep to copy
  }
  if (bytes * events <= EVENT_LIMITS.maxBatchBytes) return;
  throw new ApiError(413, 'payload_too_large', 'The batch context, copied into each event, is too large', [
    {
      field: 'context',
      reason: `${bytes} bytes × ${events} events is over the ${EVENT_LIMITS.maxBatchBytes}-byte batch limit`,
    },
  ]);
}

/** Segment semantics: batch-level `context` fills in what an event's own `context` does not say. */
function withBatchContext(raw: unknown, context: Record<string, unknown>): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const event = raw as Record<string, unknown>;
  const own = event.context;
  const merged =
    typeof own === 'object' && own !== null && !Array.isArray(own) ? { ...context, ...own } : context;
  return { ...event, context: merged };
}
