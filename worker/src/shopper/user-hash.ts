import { LRUCache } from 'lru-cache';
import type { Env } from '../env';
import { type ComponentHealth, registerHealthProbe } from '../health';
import { toHex } from '../hex';
import { log } from '../log';
import { signingKey } from '../prices/price-token';
import { isAnonymousId } from './anonymous-id';
import { remembered, sha256OfShopperText } from './recent-digests';

/**
 * `userHash`: the pseudonym of a shopper id in everything that leaves a request: Redis keys (cache
 * entries, recent activity, purchases, generations), price tokens, log lines. It is HMAC-SHA-256 under
 * the `USER_HASH_KEY` secret, its first 128 bits in hex, of a text that says which kind of id it is:
 * - an anonymous id (`rx_uid`, always a lowercase UUID): `site \n id`;
 * - a shop's user id (`user_id`, any text): `site \n user \n id`;
 * - a rate limiter's client (limiterKey): `site \n limiter \n text`.
 * A UUID holds no newline, so no anonymous id's text is ever a user id's or a limiter's; and `user` and
 * `limiter` differ, so neither are those two. The kinds are separate on purpose: shops often use UUIDs
 * as user ids, and an `rx_uid` is whatever the browser sends, so hashing both alike would let anyone
 * who knows a customer's user id send it as their own `rx_uid` and be that customer (their cached
 * list, history, price tokens), past even signed user ids (user-signature.ts). Hence no function here
 * takes a bare id: a caller names its kind ({ anonymousId } or { userId }), and an "anonymous id" that
 * is not one the worker could have issued is refused, not hashed.
 *
 * Keyed, because a plain digest can be reversed: `SITE_ID` is public (`/healthz` shows it) and a shop's
 * user ids are often email addresses or small integers, so anyone who saw a hash (a Redis key, a log
 * line, a token in a browser) could hash a dictionary and find the id. Without the key they cannot.
 *
 * Every writer and reader goes through this one function: the API and the proxy (identifyShopper),
 * the events consumer (recent activity), price tokens and their verification, the rate limiters. So
 * the consumer's writes and the lookup's reads meet exactly when they run with the same key and name
 * the same kind; another key (a rotation) is a different set of keys, which starts every shopper's
 * cache and history afresh.
 *
 * Without the key (a deployment that missed `wrangler secret put USER_HASH_KEY`) no hash is made:
 * nothing is cached or recorded per shopper and prices carry no token, `/healthz` says `user_hash:
 * degraded` and the log has one `user_hash_key_missing` line per isolate. Writing keys anyone can
 * reverse is not the fallback.
 */

/** Shorter than this, a key is worth a warning: `openssl rand -base64 32` gives 44 characters. */
export const MIN_USER_HASH_KEY_LENGTH = 32;

const MISSING_DETAIL =
  'USER_HASH_KEY is not set: nothing is cached or recorded per shopper and prices carry no token (wrangler secret put USER_HASH_KEY)';
const SHORT_DETAIL = `USER_HASH_KEY is shorter than ${MIN_USER_HASH_KEY_LENGTH} characters: set a random one, e.g. openssl rand -base64 32`;

let warnedMissing = false;
let warnedShort = false;

/**
 * The `USER_HASH_KEY` secret, or undefined when it is missing or blank (then logged once per isolate:
 * callers fall back to storing nothing per shopper).
 */
export function userHashKey(env: Pick<Env, 'USER_HASH_KEY'>): string | undefined {
  const key = env.USER_HASH_KEY;
  if (key === undefined || key.trim() === '') {
    if (!warnedMissing) {
      warnedMissing = true;
      log('error', 'user_hash_key_missing', { hint: MISSING_DETAIL });
    }
    return undefined;
  }
  if (!warnedShort && key.length < MIN_USER_HASH_KEY_LENGTH) {
    warnedShort = true;
    log('warn', 'user_hash_key_short', { hint: SHORT_DETAIL });
  }
  return key;
}

/**
 * `/healthz` `user_hash`: degraded without the key (nothing per shopper), ok with it, short or not.
 * `/healthz` is public, and a short key is one worth guessing: any shopper holds an id (`rx_uid`) and
 * its hash (a price token's `u`) to test guesses against offline. So only the log says it is short
 * (`user_hash_key_short`, once per isolate: userHashKey).
 */
export function userHashHealth(env: Pick<Env, 'USER_HASH_KEY'>): ComponentHealth {
  const key = env.USER_HASH_KEY;
  if (key === undefined || key.trim() === '') return { status: 'degraded', detail: MISSING_DETAIL };
  return { status: 'ok' };
}

registerHealthProbe('user_hash', userHashHealth);

/**
 * Per key (one in production), the hashes made lately; the key itself is imported once per isolate by
 * signingKey (prices/price-token.ts), as for every HMAC secret of the worker. A shopper's page views, API
 * calls and events each need their hash, several times per page; an HMAC is cheap but not free on every
 * request. Pure functions of their input, so never stale; bounded, so they never grow with traffic.
 */
const recentByKey = new LRUCache<string, LRUCache<string, Promise<string>>>({ max: 4 });
const encoder = new TextEncoder();

function recentHashes(secret: string): LRUCache<string, Promise<string>> {
  let recent = recentByKey.get(secret);
  if (recent === undefined) {
    recent = new LRUCache<string, Promise<string>>({ max: 10_000 });
    recentByKey.set(secret, recent);
  }
  return recent;
}

/**
 * Whose pseudonym: an anonymous id (`rx_uid`: a lowercase UUID, see isAnonymousId) or a shop's user
 * id. Never a bare string, so that no caller can hash one kind as the other without saying so.
 */
export type ShopperId =
  | { readonly anonymousId: string; readonly userId?: never }
  | { readonly userId: string; readonly anonymousId?: never };

/**
 * The pseudonym of `who` on `site` under `key` (the `USER_HASH_KEY` secret, see userHashKey): hex of
 * the first 128 bits of HMAC-SHA-256(key, text), the text `site \n id` for an anonymous id and
 * `site \n user \n id` for a user id. Rejects with a TypeError for an anonymous id that is not a lowercase
 * UUID: such a text could be made to look like another kind's (`user \n <id>`), and no reader ever
 * looks one up (every route takes only UUIDs as `rx_uid`), so callers check with isAnonymousId first.
 */
export async function userHash(key: string, site: string, who: ShopperId): Promise<string> {
  return keyedHash(key, hashText(site, who));
}

function hashText(site: string, who: ShopperId): string {
  if (who.userId !== undefined && who.anonymousId === undefined) return `${site}\nuser\n${who.userId}`;
  if (who.userId === undefined && isAnonymousId(who.anonymousId)) return `${site}\n${who.anonymousId}`;
  throw new TypeError(
    'userHash needs either a userId or an anonymousId that is an rx_uid (a lowercase UUID)',
  );
}

function keyedHash(key: string, text: string): Promise<string> {
  return remembered(recentHashes(key), text, async () => {
    const mac = await crypto.subtle.sign('HMAC', await signingKey(key), encoder.encode(text));
    return toHex(new Uint8Array(mac, 0, 16));
  });
}

/**
 * What a live experiment counter counts (worker/src/live/): the pseudonym of a browser or of an order
 * (`kind`), or names (a queue message whose events were counted), HMAC-SHA-256 under `USER_HASH_KEY` of `site \n live-{kind} \n text`, a text no shopper's or
 * limiter's pseudonym has (see the top of this file). Any anonymous id counts as a browser here, a
 * Segment source's own too: the counters only count it, no lookup is ever made by it.
 */
export function liveTallyHash(
  key: string,
  site: string,
  kind: 'browser' | 'order' | 'message' | 'user',
  text: string,
): Promise<string> {
  return keyedHash(key, `${site}\nlive-${kind}\n${text}`);
}

/**
 * The key a rate limiter counts a client under (`text` names the limiter and the client: a network
 * address, else an `rx_uid`): HMAC-SHA-256 under `USER_HASH_KEY` of `site \n limiter \n text`, a
 * text no shopper's pseudonym has (see the top of this file), so a counter's key is never a shopper's
 * and no shopper id passed as `text` gives one. Without the key, the first 128 bits of a plain
 * SHA-256 of the same text, because a missing secret must not switch rate limiting off; that key only
 * reaches Cloudflare's rate-limiting binding (which sees the address itself), never Redis, a token or
 * a log.
 */
export async function limiterKey(env: Pick<Env, 'SITE_ID' | 'USER_HASH_KEY'>, text: string): Promise<string> {
  const limited = `${env.SITE_ID}\nlimiter\n${text}`;
  const key = userHashKey(env);
  if (key !== undefined) return keyedHash(key, limited);
  return toHex(new Uint8Array(await sha256OfShopperText(limited), 0, 16));
}
