import type { Context } from 'hono';
import { USER_ID_PATTERN } from '../../../contracts/api-types';
import type { Env } from '../env';
import {
  ANONYMOUS_ID_HEADER,
  ANONYMOUS_ID_NEW_HEADER,
  anonymousIdCookie,
  anonymousIdFromCookieHeader,
  isAnonymousId,
  newAnonymousId,
} from './anonymous-id';
import { type Bucket, holdoutBucket, holdoutPercent } from './holdout';
import { userHash } from './user-hash';

export {
  ANONYMOUS_ID_COOKIE,
  ANONYMOUS_ID_HEADER,
  ANONYMOUS_ID_NEW_HEADER,
  anonymousIdCookie,
  anonymousIdFromCookieHeader,
  isAnonymousId,
} from './anonymous-id';
export { type Bucket, holdoutBucket, holdoutPercent } from './holdout';
export { userHash } from './user-hash';

/** Who is asking, as far as personalization needs to know. Holds no raw id beyond the request. */
export interface Shopper {
  /** The `rx_uid` cookie value (new when `isNew`). */
  anonymousId: string;
  /** The shop's own id for a logged-in shopper (`user_id`), when given. */
  userId?: string;
  /** `userHash(site, userId ?? anonymousId)`: the key of this shopper's cache entries, activity and price tokens. */
  userHash: string;
  /** `userHash(site, anonymousId)`: the anonymous session's activity, also read for a logged-in shopper. */
  anonymousHash: string;
  bucket: Bucket;
  /** No valid `rx_uid` came with the request: the response must set the cookie. */
  isNew: boolean;
  /**
   * Nothing can be stored under this anonymous id yet: it is new (`isNew`), or it came in `x-rx-uid`
   * with `x-rx-uid-new: 1` (the plugin made it on this page and has sent no event for it).
   */
  firstVisit: boolean;
}

export { USER_ID_PATTERN };

/**
 * Header that carries `user_id` (percent-encoded UTF-8), which the plugin sends so that a shop's
 * user id, often an email address, stays out of URLs and the logs that record them.
 */
export const USER_ID_HEADER = 'x-rx-user-id';

/**
 * Identifies the shopper of a request: `rx_uid` cookie, else the `x-rx-uid` header (script mode on
 * another site; with `x-rx-uid-new: 1` when the plugin just made it), else a new random id; `options.userId` when well-formed (the API routes pass the
 * `user_id` they validated, from the query or USER_ID_HEADER; a proxied page has none).
 * Accepts a Hono context or a plain Request. When `isNew`, send `anonymousIdCookie(anonymousId)`
 * (`setShopperCookie` does it for a Hono context).
 */
export async function identifyShopper(
  source: Request | Pick<Context, 'req'>,
  env: Pick<Env, 'SITE_ID' | 'HOLDOUT_PERCENT'>,
  options: { userId?: string } = {},
): Promise<Shopper> {
  const request = source instanceof Request ? source : source.req.raw;
  const fromCookie = anonymousIdFromCookieHeader(request.headers.get('cookie'));
  const fromHeader = request.headers.get(ANONYMOUS_ID_HEADER)?.toLowerCase();
  const known = fromCookie ?? (isAnonymousId(fromHeader) ? fromHeader : undefined);
  const madeByScript =
    fromCookie === undefined && known !== undefined && request.headers.get(ANONYMOUS_ID_NEW_HEADER) === '1';
  const anonymousId = known ?? newAnonymousId();

  // Only from the caller: a shop page's own `?user_id=` (proxy mode) is the shop's business, and
  // taking it would let any link name whose history a page shows and whose page views it records.
  const candidate = options.userId;
  const userId = candidate !== undefined && USER_ID_PATTERN.test(candidate) ? candidate : undefined;

  const site = env.SITE_ID;
  const [anonymousHash, bucket] = await Promise.all([
    userHash(site, anonymousId),
    holdoutBucket(site, anonymousId, holdoutPercent(env.HOLDOUT_PERCENT)),
  ]);
  const shopper: Shopper = {
    anonymousId,
    userHash: userId === undefined ? anonymousHash : await userHash(site, userId),
    anonymousHash,
    bucket,
    isNew: known === undefined,
    firstVisit: known === undefined || madeByScript,
  };
  if (userId !== undefined) shopper.userId = userId;
  return shopper;
}

/** Sets `rx_uid` on the response of a Hono context when the shopper is new. */
export function setShopperCookie(c: Pick<Context, 'header'>, shopper: Shopper): void {
  if (shopper.isNew) c.header('set-cookie', anonymousIdCookie(shopper.anonymousId), { append: true });
}
