import type { Redis } from '@upstash/redis/cloudflare';
import type { StoredEvent } from '../../../contracts/events';
import { activityEntryIdentity } from '../cache/activity-list';
import { ACTIVITY_MAX, type ActivityEntry, activityKey, generationKey, purchasesKey } from '../cache/keys';
import { offRequestRedis } from '../cache/redis-client';
import { setting } from '../config';
import type { Env } from '../env';
import { reportFailure, reportRecovery } from '../health';
import { log } from '../log';
import { isAnonymousId, type ShopperId, userHash, userHashKey } from '../shopper';
import { activityOf } from './activity-of-event';

/** The consumer is off the request path: it can wait longer for Redis than a shopper's request. */
const ACTIVITY_TIMEOUT_MS = 3_000;

/**
 * A view or click of a product among the shopper's RECENT_HEAD newest entries does not bump the cache
 * generation. Five: the product pages a shopper flips between; each of them already weighs in the
 * history vector at 0.92^4 ≈ 0.72 of the newest entry or more, so moving it to the front changes little.
 */
export const RECENT_HEAD = 5;

interface ShopperChanges {
  site: string;
  hash: string;
  /** How long this shopper's keys live after this batch (ACTIVITY_DAYS or ACTIVITY_DAYS_SIGNED_IN). */
  ttlSeconds: number;
  entries: ActivityEntry[];
  purchased: Set<string>;
  /** A cart or purchase change: bump the generation whatever the history holds. */
  invalidate: boolean;
  /** Products viewed or clicked: bump only if one is not among the RECENT_HEAD newest entries. */
  browsed: Set<string>;
  /**
   * Entries of events an earlier delivery of their message stored, and so may have pushed already
   * (it died after its Redis writes, before its acks): pushed only when the list does not hold them.
   */
  earlier: ActivityEntry[];
  /** Product ids among the RECENT_HEAD newest entries, when the list was read before the push (earlier). */
  recent?: Set<string>;
}

/**
 * Whose activity an event is, each id by its kind, as the lookups name them (identifyShopper): the
 * anonymous id when it is one the worker could have issued (an `rx_uid`, a lowercase UUID), and the
 * user id. Any other `anonymousId` (a Segment source's own, say) is stored in MongoDB with the event
 * but names no one here: no request is ever identified by it, and hashing it as an anonymous id could
 * make it pass for another kind of id.
 */
function shopperIds(event: StoredEvent): ShopperId[] {
  const ids: ShopperId[] = [];
  if (isAnonymousId(event.anonymousId)) ids.push({ anonymousId: event.anonymousId });
  if (event.userId !== undefined) ids.push({ userId: event.userId });
  return ids;
}

/**
 * Updates each shopper's recent activity, purchases and cache generation in Upstash Redis
 * (keys from `cache/keys.ts`), in two pipelines per batch (pushActivity, then trims and generation
 * bumps), three on a redelivery of events stored before (unpushedEarlier first). Written under the hash of the anonymous id and, when present, of the user id, because
 * recommendations are asked for with either: `userHash` under `USER_HASH_KEY` of each id by its kind
 * (shopperIds), the one function the lookup's reads use too. Without the key nothing is written (no
 * pseudonym can be made; see shopper/user-hash.ts). Never throws: Redis being down must not fail events
 * already stored in MongoDB.
 *
 * `stored` are events this delivery stored first, never pushed before. `storedEarlier` are events an
 * earlier delivery of their message stored (consumer/handler.ts storedByEarlierDelivery), which may have
 * pushed them and died before its acks: their entries are pushed only where the list does not already
 * hold them (unpushedEarlier), so a redelivery leaves the list as one delivery would.
 */
export async function recordActivity(
  env: Env,
  stored: readonly StoredEvent[],
  storedEarlier: readonly StoredEvent[] = [],
): Promise<void> {
  // The push is never sent twice: a request Upstash ran whose answer was lost (the connection dropped)
  // would push the batch's entries again, and read the heads after the first push, so a new product
  // would not bump the generation. The trims and bumps may be (an LTRIM or EXPIRE again changes nothing,
  // a second INCR only renews the generation once more), so that request keeps its one retry.
  const redis = offRequestRedis(env, { timeoutMs: ACTIVITY_TIMEOUT_MS, retries: 0 });
  const settling = offRequestRedis(env, { timeoutMs: ACTIVITY_TIMEOUT_MS, retries: 1 });
  const events = stored.length + storedEarlier.length;
  if (redis === undefined || settling === undefined || events === 0) return;
  const hashKey = userHashKey(env);
  if (hashKey === undefined) return;
  try {
    const lifetimes = activityLifetimes(env);
    const changes = await changesByShopper(hashKey, stored, storedEarlier, lifetimes);
    if (changes.length === 0) return;
    // Not retried either: with Redis down, a redelivery waits out one timeout before its acks, as any batch.
    await unpushedEarlier(redis, changes);
    // When this fails, Redis is down or slow: the second pipeline is not tried (it would wait out the same
    // timeouts while the batch's acks wait). Should the pushes have landed all the same, a cached list
    // may miss this batch until its freshness ends (CACHE_TTL_SECONDS) or the shopper's next change.
    const pushed = await pushActivity(redis, changes);
    const pipeline = settling.pipeline();
    for (const { change, length, recent } of pushed) {
      // Most lists never reach ACTIVITY_MAX (a visitor's few page views): trimmed only when LPUSH said
      // the list went past it, which saves an LTRIM per shopper and batch.
      if (length > ACTIVITY_MAX) {
        pipeline.ltrim(activityKey(change.site, change.hash), 0, ACTIVITY_MAX - 1);
      }
      if (isStale(change, recent)) {
        const key = generationKey(change.site, change.hash);
        pipeline.incr(key);
        pipeline.expire(key, change.ttlSeconds);
        // The purchases live as long as the generation: renewed by every batch that changes the
        // shopper's recommendations (a purchase always does), so bought items stay out of them while the
        // shopper keeps browsing. Not by every event: a re-view of a recent product changes nothing, and
        // renewing a set most shoppers never have was one Redis command in five (docs/analytics.md).
        // (A batch with a purchase renewed them with its SADD already.)
        if (change.purchased.size === 0) {
          pipeline.expire(purchasesKey(change.site, change.hash), change.ttlSeconds);
        }
      }
    }
    if (pipeline.length() > 0) await pipeline.exec();
    reportRecovery('activity');
  } catch (error) {
    reportFailure('activity', error);
    log('warn', 'activity_update_failed', { events, error });
  }
}

/** What the first pipeline left of a shopper's list. */
interface Pushed {
  change: ShopperChanges;
  /** The list's length after the push (LPUSH's answer); 0 when nothing was pushed. */
  length: number;
  /** Product ids among the RECENT_HEAD newest entries before the push, for a browsing-only shopper. */
  recent?: Set<string>;
}

/**
 * The first pipeline, per shopper: the head of the list as it was (a browsing-only shopper's, to tell
 * whether the batch changes what to recommend), the push and the list's expiry, and any purchases with
 * theirs (so no list or set is ever left without one). Commands of one pipeline run in order, so the
 * head is read before the push.
 */
async function pushActivity(redis: Redis, changes: readonly ShopperChanges[]): Promise<Pushed[]> {
  const pipeline = redis.pipeline();
  // Each reply's place is the pipeline's length before its command is added.
  const slots = changes.map((change) => {
    const key = activityKey(change.site, change.hash);
    let head: number | undefined;
    let length: number | undefined;
    if (!change.invalidate && change.browsed.size > 0 && change.recent === undefined) {
      head = pipeline.length();
      pipeline.lrange(key, 0, RECENT_HEAD - 1);
    }
    if (change.entries.length > 0) {
      // Oldest first, so LPUSH leaves the newest at the head.
      const ordered = change.entries.sort((a, b) => a.at - b.at).map((entry) => JSON.stringify(entry));
      length = pipeline.length();
      pipeline.lpush(key, ...ordered);
      pipeline.expire(key, change.ttlSeconds);
    }
    const [first, ...rest] = [...change.purchased];
    if (first !== undefined) {
      const bought = purchasesKey(change.site, change.hash);
      pipeline.sadd(bought, first, ...rest);
      pipeline.expire(bought, change.ttlSeconds);
    }
    return { change, head, length };
  });
  // Every change has entries (changesByShopper keeps no other), but an empty pipeline would throw.
  const replies = pipeline.length() === 0 ? [] : await pipeline.exec<unknown[]>();
  return slots.map(({ change, head, length }) => ({
    change,
    length: length === undefined ? 0 : Number(replies[length]),
    ...(head === undefined ? {} : { recent: new Set(productIdsOf(replies[head] as unknown[])) }),
    ...(change.recent === undefined ? {} : { recent: change.recent }),
  }));
}

/**
 * For shoppers with entries of events an earlier delivery stored (`earlier`), reads their lists, up to
 * ACTIVITY_MAX entries (one LRANGE each, in one round trip, only on such a redelivery: the usual batch
 * has none), and adds to `entries` those the list does not hold, by the identity the lookup keeps each
 * event once by (cache/activity-list.ts activityEntryIdentity: product, kind, time). An entry the earlier
 * delivery pushed is there (its push, expiry and purchases went in one request), unless ACTIVITY_MAX
 * newer ones came since: then it is pushed again, and the lookup, sorting by time, puts it among the
 * oldest, where it was. The head read here, before the push, is what isStale compares with: a view or
 * click the earlier delivery pushed reads as recent and does not bump, as when the push was repeated
 * (the head was then read after the earlier push).
 */
async function unpushedEarlier(redis: Redis, changes: readonly ShopperChanges[]): Promise<void> {
  const asked = changes.filter((change) => change.earlier.length > 0);
  if (asked.length === 0) return;
  const pipeline = redis.pipeline();
  for (const change of asked) pipeline.lrange(activityKey(change.site, change.hash), 0, ACTIVITY_MAX - 1);
  const lists = await pipeline.exec<unknown[][]>();
  asked.forEach((change, index) => {
    const held = heldEntries(lists[index]);
    const identities = new Set(held.map((entry) => entry.identity));
    const missing = change.earlier.filter(
      (entry) => !identities.has(activityEntryIdentity(entry.product_id, entry.kind, entry.at)),
    );
    change.entries.push(...missing);
    change.recent = new Set(held.slice(0, RECENT_HEAD).map((entry) => entry.product_id));
  });
}

/**
 * Whether the batch makes the shopper's cached recommendations stale: a cart change or a purchase
 * always; a view or click only of a product not among the RECENT_HEAD newest entries (`recent`).
 */
function isStale(change: ShopperChanges, recent: ReadonlySet<string> | undefined): boolean {
  if (change.invalidate || change.purchased.size > 0) return true;
  if (change.browsed.size === 0) return false;
  return [...change.browsed].some((id) => !recent?.has(id));
}

/** Product ids of raw list entries (the client may hand them back parsed or as JSON text). */
function productIdsOf(entries: unknown[] | undefined): string[] {
  return heldEntries(entries).map((entry) => entry.product_id);
}

/** Raw list entries with a product id, each with its identity; one that is not ours is skipped. */
function heldEntries(entries: unknown[] | undefined): Array<{ product_id: string; identity: string }> {
  const held: Array<{ product_id: string; identity: string }> = [];
  for (const entry of entries ?? []) {
    let value: unknown = entry;
    if (typeof entry === 'string') {
      try {
        value = JSON.parse(entry);
      } catch {
        continue; // not ours: it cannot match a product
      }
    }
    if (typeof value !== 'object' || value === null || !('product_id' in value)) continue;
    if (typeof value.product_id !== 'string') continue;
    const kind = 'kind' in value ? value.kind : undefined;
    const at = 'at' in value ? value.at : undefined;
    held.push({ product_id: value.product_id, identity: activityEntryIdentity(value.product_id, kind, at) });
  }
  return held;
}

/** Seconds a shopper's keys live after an event, by the kind of id they are kept under. */
interface ActivityLifetimes {
  anonymous: number;
  signedIn: number;
}

function activityLifetimes(env: Env): ActivityLifetimes {
  const day = 24 * 60 * 60;
  return {
    anonymous: Math.round(setting(env, 'ACTIVITY_DAYS') * day),
    signedIn: Math.round(setting(env, 'ACTIVITY_DAYS_SIGNED_IN') * day),
  };
}

async function changesByShopper(
  hashKey: string,
  stored: readonly StoredEvent[],
  storedEarlier: readonly StoredEvent[],
  lifetimes: ActivityLifetimes,
): Promise<ShopperChanges[]> {
  const byKey = new Map<string, ShopperChanges>();
  const events = [
    ...stored.map((event) => ({ event, earlier: false })),
    ...storedEarlier.map((event) => ({ event, earlier: true })),
  ];
  for (const { event, earlier } of events) {
    const activity = activityOf(event);
    if (activity.entries.length === 0 && activity.invalidation === 'never') continue;
    for (const id of shopperIds(event)) {
      const hash = await userHash(hashKey, event.site, id);
      const mapKey = `${event.site}\n${hash}`;
      let change = byKey.get(mapKey);
      if (change === undefined) {
        change = {
          site: event.site,
          hash,
          ttlSeconds: 'userId' in id ? lifetimes.signedIn : lifetimes.anonymous,
          entries: [],
          purchased: new Set(),
          invalidate: false,
          browsed: new Set(),
          earlier: [],
        };
        byKey.set(mapKey, change);
      }
      // Purchases, bumps and expiries are sent again for an earlier delivery's events (an SADD or an
      // EXPIRE again changes nothing, an INCR again only renews the generation): only the push is not.
      (earlier ? change.earlier : change.entries).push(...activity.entries);
      for (const id of activity.purchased) change.purchased.add(id);
      change.invalidate ||= activity.invalidation === 'always';
      if (activity.invalidation === 'if-not-recent') {
        for (const entry of activity.entries) change.browsed.add(entry.product_id);
      }
    }
  }
  return [...byKey.values()];
}
