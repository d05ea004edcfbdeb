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
import { userHash, userHashKey } from './user-hash';

export {
  ANONYMOUS_ID_COOKIE,
  ANONYMOUS_ID_HEADER,
  ANONYMOUS_ID_NEW_HEADER,
  anonymousIdCookie,
  anonymousIdFromCookieHeader,
  isAnonymousId,
} from './anonymous-id';
export { type Bucket, holdoutBucket, holdoutPercent } from './holdout';
export { limiterKey, type ShopperId, userHash, userHashHealth, userHashKey } from './user-hash';

/** Who is asking, as far as personalization needs to know. Holds no raw id beyond the request. */
export interface Shopper {
  /** The `rx_uid` cookie value (new when `isNew`). */
  anonymousId: string;
  /** The shop's own id for a logged-in shopper (`user_id`), when given (and `hashed`). */
  userId?: string;
  /**
   * `userHash(USER_HASH_KEY, site, { userId })` for a logged-in shopper, else `anonymousHash`: the key
   * of this shopper's cache entries, activity and price tokens. The two kinds never share a hash (see
   * user-hash.ts), so an `rx_uid` that equals someone's user id is still only an anonymous shopper.
   * When not `hashed`, a random value nothing else names.
   */
  userHash: string;
  /**
   * `userHash(USER_HASH_KEY, site, { anonymousId })`: the anonymous session's activity, also read for a
   * logged-in shopper.
   */
  anonymousHash: string;
  /**
   * False when `USER_HASH_KEY` is missing: no pseudonym can be made, so nothing may be read or stored
   * under this shopper. Then `firstVisit` is true (the page-only answer, no cache), `userId` is left
   * out (without a hash it has no use), no price token is signed for them, and `userHash` and
   * `anonymousHash` are one random value per request, so a key made from them by mistake matches
   * nothing and names no one.
   */
  hashed: boolean;
  bucket: Bucket;
  /** No valid `rx_uid` came with the request: the response must set the cookie. */
  isNew: boolean;
  /**
   * Nothing can be stored under this anonymous id yet: it is new (`isNew`), or it came in `x-rx-uid`
   * with `x-rx-uid-new: 1` (the plugin made it on this page and has sent no event for it), or no
   * hash can be made (not `hashed`).
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
  env: Pick<Env, 'SITE_ID' | 'HOLDOUT_PERCENT' | 'USER_HASH_KEY'>,
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
  const key = userHashKey(env);
  const [anonymousHash, bucket] = await Promise.all([
    key === undefined ? unnamedHash() : userHash(key, site, { anonymousId }),
    holdoutBucket(site, anonymousId, holdoutPercent(env.HOLDOUT_PERCENT)),
  ]);
  if (key === undefined) {
    // USER_HASH_KEY is missing: nothing per shopper (see Shopper.hashed). The bucket does not need it.
    return {
      anonymousId,
      userHash: anonymousHash,
      anonymousHash,
      hashed: false,
      bucket,
      isNew: known === undefined,
      firstVisit: true,
    };
  }
  const shopper: Shopper = {
    anonymousId,
    userHash: userId === undefined ? anonymousHash : await userHash(key, site, { userId }),
    anonymousHash,
    hashed: true,
    bucket,
    isNew: known === undefined,
    firstVisit: known === undefined || madeByScript,
  };
  if (userId !== undefined) shopper.userId = userId;
  return shopper;
}

/** A random UUID's 32 hex digits: the stand-in for a hash that cannot be made (see Shopper.hashed). */
function unnamedHash(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

/** Sets `rx_uid` on the response of a Hono context when the shopper is new. */
export function setShopperCookie(c: Pick<Context, 'header'>, shopper: Shopper): void {
  if (shopper.isNew) c.header('set-cookie', anonymousIdCookie(shopper.anonymousId), { append: true });
}
