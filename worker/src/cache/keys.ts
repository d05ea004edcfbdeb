/**
 * The Redis key scheme, in one place. Every key starts with `rx:{site}:` so several shops can share a
 * database, and carries a user only as `userHash` (never a raw id). Writers outside this folder (the
 * event consumer) use these functions, so readers and writers cannot drift.
 *
 * | key | type | written by | read by |
 * | --- | --- | --- | --- |
 * | `activityKey` | list, newest first, JSON `ActivityEntry` | consumer (LPUSH + EXPIRE; LTRIM once past ACTIVITY_MAX) | recommendations |
 * | `purchasesKey` | set of product ids | consumer (SADD + EXPIRE) | recommendations (exclusions) |
 * | `generationKey` | integer | consumer (INCR + EXPIRE when an event makes cached results stale) | recommendation cache (the shopper's; a logged-in shopper's anonymous session's too) |
 * | `recommendationKey` | JSON `CachedList`: the list + the generation(s) it was computed at; one per user and anonymous session for a logged-in shopper with one | recommendation cache (conditional write: never over a newer entry, never outliving the generation keys it was stamped from) | recommendation cache |
 * | `lockKey(k)` | "1", short TTL | recommendation cache (SET NX) | recommendation cache |
 * | `liveCountersKey` | hash of `{bucket}|{counter}` integers, one per UTC day | consumer (HINCRBY + EXPIREAT) | `GET /admin/live` |
 * | `liveCountedAtKey` | epoch ms of the last batch that counted events, 36 days | consumer (SET EX) | `GET /admin/live` (`counting`) |
 * | `liveShoppersKey` | HyperLogLog of browser (or buyer) pseudonyms, per day and bucket | consumer (PFADD + EXPIREAT) | `GET /admin/live` (PFCOUNT) |
 * | `liveOrderKey` | `{bucket}|{currency}|{thousandths}` the order counted for, LIVE_ORDER_SECONDS (36 days) | consumer (SET NX: an order reported twice is counted once) | consumer (GET, for its refunds) |
 * | `liveRefundsKey` | hash of `{currency}|{thousandths}` refunds counted of an order, as long as its claim | consumer (HSET: a refund reported twice is counted once; HKEYS: refunds at most the order's value) | consumer |
 * | `liveMessageKey` | "1", LIVE_MARK_SECONDS | consumer (SET: this queue message's events are counted) | consumer (EXISTS, for a redelivered message) |
 */
import type { ActivityKind } from '../../../contracts/activity';

/**
 * One entry of the recent-activity list. `kind` weighs the item in the shopper's history vector;
 * `removed` (taken out of the cart) weighs nothing there but ends the item's place in the cart.
 */
export interface ActivityEntry {
  product_id: string;
  kind: ActivityKind;
  /** Epoch milliseconds. */
  at: number;
}

// The list's length is shared with the trainer's `eval --history served`; its lifetime is a setting
// (ACTIVITY_DAYS, ACTIVITY_DAYS_SIGNED_IN in settings.ts).
export { ACTIVITY_MAX } from '../../../contracts/activity';

function prefix(site: string): string {
  return `rx:${site}:`;
}

/** Recent items of a shopper (list of JSON `ActivityEntry`, newest first). */
export function activityKey(site: string, userHash: string): string {
  return `${prefix(site)}act:${userHash}`;
}

/** Products the shopper bought (set of product ids): never recommended again. */
export function purchasesKey(site: string, userHash: string): string {
  return `${prefix(site)}buy:${userHash}`;
}

/**
 * The shopper's cache generation: an integer the consumer INCRs when an event changes what should be
 * recommended (a view, a cart change, a purchase). A cached result computed at an older generation is
 * a miss, so events invalidate without the consumer knowing which result keys exist.
 */
export function generationKey(site: string, userHash: string): string {
  return `${prefix(site)}gen:${userHash}`;
}

/** What a cached recommendation is for; every field changes the answer, so every field is in the key. */
export interface RecommendationKeyParts {
  site: string;
  userHash: string;
  placement: string;
  /** Placement context: product id, category, cart ids, limit (see `recommendationContext`). */
  context: string;
  modelVersion: string;
  bucket: string;
  /**
   * A logged-in shopper's anonymous session on this browser (`sessionTag` of its hash), when the lookup
   * reads one: their list depends on it, so each session has an entry of its own.
   */
  session?: string;
}

/**
 * A cached recommendation list. The model version is in the key, so a new bundle never serves a result
 * of the old one. The generation is stored inside the value and compared on read (see the comment at
 * the top of recommendation-cache.ts): that keeps a lookup to ONE round trip (the generation and the
 * entry are read by the same script) and overwrites stale entries instead of orphaning them. A
 * logged-in shopper with an anonymous session has one key per session (`{userHash}.{session tag}`):
 * their list merges that session's activity, so two devices each keep their own entry instead of
 * replacing each other's on every switch. The user's generation (in every one of their entries) still
 * invalidates all of them; the session's generation is recorded in the entry (`s`) and compared on read.
 */
export function recommendationKey(parts: RecommendationKeyParts): string {
  const context = contextDigest(parts.context);
  const who = parts.session === undefined ? parts.userHash : `${parts.userHash}.${parts.session}`;
  return `${prefix(parts.site)}rec:${who}:${parts.placement}:${parts.bucket}:${context}:${parts.modelVersion}`;
}

/** The short-lived lock that lets one request refresh an entry while others serve what they have. */
export function lockKey(key: string): string {
  return `${key}:lock`;
}

/**
 * A compact, deterministic digest of a context string (FNV-1a, 2 x 32 bits, hex). Not a security
 * boundary: it only keeps keys short when a cart holds many ids.
 */
export function contextDigest(context: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < context.length; i++) {
    const code = context.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995) ^ (b >>> 13);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/**
 * One UTC day's live experiment counters of a site (worker/src/live/): a hash whose fields are
 * `{bucket}|{counter}` (liveCounterField). `day` is `YYYY-MM-DD`.
 */
export function liveCountersKey(site: string, day: string): string {
  return `${prefix(site)}live:${day}`;
}

/** Who was counted on a day in a bucket: `browsers` (any event) or `buyers` (an order), as HyperLogLogs. */
export function liveShoppersKey(
  site: string,
  day: string,
  bucket: string,
  who: 'browsers' | 'buyers',
): string {
  return `${prefix(site)}live:${day}:${bucket}:${who}`;
}

/** Marks an order as counted, by the pseudonym of its `order_id` (liveTallyHash), never the id itself. */
export function liveOrderKey(site: string, orderHash: string): string {
  return `${prefix(site)}live:order:${orderHash}`;
}

/** The refunds already counted of an order (beside its `liveOrderKey` claim). */
export function liveRefundsKey(orderClaimKey: string): string {
  return `${orderClaimKey}:refunds`;
}

/**
 * The browsers a user id (by its pseudonym, liveTallyHash `user`) was seen with, a set of
 * `{bucket}:{browser pseudonym}`: a server's order under the user id alone is counted in that browser's
 * arm when there is exactly one browser (record-live.ts), as `npm run report` gives it.
 */
export function liveUserBrowsersKey(site: string, userHash: string): string {
  return `${prefix(site)}live:user-browsers:${userHash}`;
}

/**
 * When the consumer last counted events of `site` (epoch ms, as text), set in each batch's counts'
 * round trip, kept as long as a day's counters; read by `GET /admin/live` (`counting.last_counted_at`).
 * Beside the day hashes of liveCountersKey (a day is `YYYY-MM-DD`), never one of them.
 */
export function liveCountedAtKey(site: string): string {
  return `${prefix(site)}live:counted-at`;
}

/** Marks a queue message's events as counted live, by the pseudonym of the message's id (liveTallyHash). */
export function liveMessageKey(site: string, messageHash: string): string {
  return `${prefix(site)}live:msg:${messageHash}`;
}
