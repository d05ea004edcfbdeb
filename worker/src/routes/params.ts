import type { Context } from 'hono';
import { z } from 'zod';
import { PRODUCT_ID_PATTERN, PRODUCT_ID_RULE } from '../../../contracts/api-types';
import { ApiError } from '../errors';
import { USER_ID_HEADER, USER_ID_PATTERN } from '../shopper';
import { usableUserIdSecret, userSignatureValid } from '../shopper/user-signature';

export { PRODUCT_ID_PATTERN };
export const MAX_PRODUCT_IDS = 50;

/** A product id, without the spaces around it (`85123A, 22423` is how people write lists). */
export const productIdSchema = z.string().trim().regex(PRODUCT_ID_PATTERN, PRODUCT_ID_RULE);

/**
 * A query schema whose parameters are each given once. Hono hands a repeated one (`?limit=4&limit=8`)
 * to the schema as a list, which the field's own rule then refused with a reason about its value
 * ("must be one of home, product, …" for `placement=home&placement=home`, "expected string, received
 * array"): a 400 that sent the caller looking at the wrong thing. Now each repeated parameter the
 * schema reads is named with "must be given once"; repeats of others (`utm_source`) are ignored, as
 * any parameter the API does not read is.
 */
export function singleValuedQuery<T extends z.ZodObject>(schema: T) {
  return z.preprocess((query, ctx) => {
    if (typeof query !== 'object' || query === null) return query;
    for (const [name, value] of Object.entries(query)) {
      if (Object.hasOwn(schema.shape, name) && Array.isArray(value)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'must be given once' });
      }
    }
    return query;
  }, schema);
}

/**
 * A query parameter that may be left out, read as left out when its value is empty or blank:
 * `?product_id=&category=&limit=` is how URL templates (DESIGN.md's own) and HTML forms send an
 * optional field that has no value. Before, `limit=` was the number 0 and `product_id=` an invalid
 * id, each a 400.
 */
export function optionalParam<T extends z.ZodType>(schema: T) {
  return z.preprocess(blankAsAbsent, schema.optional());
}

function blankAsAbsent(value: unknown): unknown {
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}

/**
 * `a,b,c` → ['a','b','c'], each a valid product id, at most MAX_PRODUCT_IDS. Required where it is used
 * as is (`GET /v1/prices`): an empty or blank list says so, rather than that its one id `""` is invalid.
 */
export const productIdListSchema = z
  .string({
    error: (issue) => (issue.input === undefined ? 'is required: product ids, comma-separated' : undefined),
  })
  .refine((value) => value.trim() !== '', 'is empty: list at least one product id, comma-separated')
  .transform((value) => value.split(','))
  .pipe(
    z
      .array(productIdSchema)
      .min(1, 'must list at least one product id')
      .max(MAX_PRODUCT_IDS, `must list at most ${MAX_PRODUCT_IDS} product ids`),
  );

export const userIdSchema = z
  .string()
  .regex(USER_ID_PATTERN, 'must be 1-256 characters without control characters');

/** `tracking=off`: a shopper who may not be tracked (the plugin before consent, or under GPC). */
export const trackingSchema = z.enum(['off'], { error: 'must be off (or absent)' }).optional();

/** An untracked request cannot name a logged-in shopper: `user_id` with `tracking=off` is refused. */
export function refuseUserIdWhenUntracked(
  query: { tracking?: 'off'; user_id?: string },
  ctx: z.RefinementCtx,
): void {
  if (query.tracking === 'off' && query.user_id) {
    ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'must not be given with tracking=off' });
  }
}

/** Header that carries `user_sig`, the signature of the user id (with `USER_ID_SECRET`). */
export const USER_SIGNATURE_HEADER = 'x-rx-user-sig';

export const userSignatureSchema = z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal digits');

/** Query fields that say who asks, shared by the per-shopper routes (see requestUserId); empty is absent. */
export const shopperQueryShape = {
  user_id: optionalParam(userIdSchema),
  user_sig: optionalParam(userSignatureSchema),
  tracking: optionalParam(trackingSchema),
};

/**
 * The logged-in shopper's id: the `user_id` query parameter (validated with the query), else the
 * `x-rx-user-id` header, percent-encoded UTF-8 (what the plugin sends). 400 naming the header when
 * it cannot be decoded, is not a valid id, or comes with `tracking=off`. With `USER_ID_SECRET` set (not blank),
 * 403 unless `user_sig` (query) or `x-rx-user-sig` signs it.
 */
export async function requestUserId(
  c: Pick<Context, 'req'>,
  env: { USER_ID_SECRET?: string },
  query: { user_id?: string; user_sig?: string; tracking?: 'off' },
): Promise<string | undefined> {
  const userId = query.user_id || userIdFromHeader(c, query);
  const secret = usableUserIdSecret(env);
  if (userId === undefined || secret === undefined) return userId;
  const signature = query.user_sig ?? signatureFromHeader(c);
  if (!signature) {
    throw new ApiError(403, 'user_signature_required', 'This API takes a user id only with its signature', [
      {
        field: 'user_sig',
        reason: `send user_sig or ${USER_SIGNATURE_HEADER}: hex HMAC-SHA256 of the user id`,
      },
    ]);
  }
  if (!(await userSignatureValid(secret, userId, signature))) {
    throw new ApiError(403, 'user_signature_invalid', 'The signature does not sign this user id', [
      { field: 'user_sig', reason: 'does not match the user id' },
    ]);
  }
  return userId;
}

/** The `x-rx-user-sig` header; 400 naming it when it is not 64 hex digits (as `user_sig` in the query). */
function signatureFromHeader(c: Pick<Context, 'req'>): string | undefined {
  const raw = c.req.header(USER_SIGNATURE_HEADER);
  if (!raw) return undefined;
  const checked = userSignatureSchema.safeParse(raw);
  if (checked.success) return checked.data;
  throw invalidHeader(USER_SIGNATURE_HEADER, checked.error.issues[0]?.message ?? 'invalid');
}

/** 400 naming a header the request sent and why it cannot be used. */
function invalidHeader(header: string, reason: string): ApiError {
  return new ApiError(400, 'invalid_request', `Invalid header: ${header}`, [{ field: header, reason }]);
}

function userIdFromHeader(c: Pick<Context, 'req'>, query: { tracking?: 'off' }): string | undefined {
  const raw = c.req.header(USER_ID_HEADER);
  if (!raw) return undefined;
  const invalid = (reason: string) => invalidHeader(USER_ID_HEADER, reason);
  let userId: string;
  try {
    userId = decodeURIComponent(raw);
  } catch {
    throw invalid('must be percent-encoded UTF-8');
  }
  if (!USER_ID_PATTERN.test(userId)) throw invalid('must be 1-256 characters without control characters');
  if (query.tracking === 'off') throw invalid('must not be given with tracking=off');
  return userId;
}

/**
 * A whole number from `min` to `max` in a query string (`?limit=8`), `fallback` when absent, empty or
 * blank (`?limit=`; coerced, an empty value was the number 0).
 */
export function wholeNumberParam(min: number, max: number, fallback: number) {
  return z.preprocess(
    blankAsAbsent,
    z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .default(fallback),
  );
}
