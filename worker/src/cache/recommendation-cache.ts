import type { Redis } from '@upstash/redis/cloudflare';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { mergeActivity, parseActivity } from './activity-list';
import {
  ACTIVITY_MAX,
  type ActivityEntry,
  activityKey,
  generationKey,
  lockKey,
  purchasesKey,
  type RecommendationKeyParts,
  recommendationKey,
} from './keys';
import { lookupScript, noteScriptingRefused, scriptingUnavailable } from './lookup-script';
import { CacheTimeoutError, withinBudget } from './redis-client';

/**
 * Cache-aside for recommendation lists, built so a lookup is ONE round trip: one read-only script
 * (lookup-script.ts; a pipeline where the server runs no scripts) reads the shopper's generation
 * counter and the cached entry, and unless that entry is a fresh hit also their recent activity and
 * purchases, so a miss already has what the model needs.
 *
 * Freshness: an entry is fresh for `ttlSeconds`, then stale for as long again (its Redis TTL is twice
 * the freshness). A stale entry is still served while ONE request, holding a short `SET NX` lock,
 * recomputes it in the background: a hot key that expires causes one recomputation, not a stampede.
 * An entry computed at an older generation (an event since changed what to recommend) is a miss.
 */

export const CachedListSchema = z.object({
  /** Generation the entry was computed at. */
  g: z.number().int().nonnegative(),
  /** Fresh until (epoch ms). */
  f: z.number(),
  /** Which path computed it (see recommend/types.ts RecommendationSource). */
  source: z.enum(['personal', 'similar', 'complements', 'popularity', 'none']),
  items: z.array(
    z.object({
      product_id: z.string(),
      title: z.string(),
      url: z.string(),
      image: z.string(),
      price: z.number(),
      score: z.number(),
    }),
  ),
});
export type CachedList = z.infer<typeof CachedListSchema>;

/** Everything one lookup learns about a shopper. */
export type CacheLookup = FreshHit | CacheMiss;

interface LookupBase {
  key: string;
  generation: number;
}

/** An entry at the current generation, still fresh: served as it is, so nothing else was read. */
export interface FreshHit extends LookupBase {
  fresh: true;
  entry: CachedList;
}

/** No entry, one of an older generation, or one past its freshness: the model's inputs came along. */
export interface CacheMiss extends LookupBase {
  fresh: false;
  /** The entry when it exists at the current generation (stale: served while it is recomputed). */
  entry?: CachedList;
  /**
   * Recent activity, newest first by time (the shopper's and, when logged in, their anonymous
   * session's, merged: activity-list.ts).
   * Parsed on first call: a stale entry is served before the model runs in the background, and
   * parsing and validating up to 2 × ACTIVITY_MAX entries was the largest CPU cost of a hit.
   */
  activity: () => ActivityEntry[];
  /** Products bought (the shopper's and, when logged in, their anonymous session's). */
  purchases: string[];
}

/**
 * Entries this isolate parsed lately, by their exact text in Redis. A returning shopper's pages read
 * the same entry until it changes; parsing and validating its JSON each time was most of a cache hit's
 * CPU. Keyed by the whole text, so it only ever answers for bytes Redis has just returned: freshness
 * and generations are decided by Redis exactly as without it. Entries are frozen: callers share them.
 */
const parsedEntries = new LRUCache<string, CachedList>({
  max: 1_000,
  maxSize: 8_000_000,
  sizeCalculation: (_, raw) => raw.length,
});

function parseEntry(raw: unknown): CachedList | undefined {
  if (typeof raw !== 'string') return undefined;
  const known = parsedEntries.get(raw);
  if (known) return known;
  try {
    const parsed = CachedListSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return undefined;
    const entry = deepFreeze(parsed.data);
    parsedEntries.set(raw, entry);
    return entry;
  } catch {
    return undefined;
  }
}

function deepFreeze<T extends CachedList>(entry: T): T {
  for (const item of entry.items) Object.freeze(item);
  Object.freeze(entry.items);
  return Object.freeze(entry);
}

/** The keys one lookup reads, in the order the script and the pipeline read them. */
function lookupKeys(parts: RecommendationKeyParts, anonymousHash: string): string[] {
  const keys = [
    generationKey(parts.site, parts.userHash),
    recommendationKey(parts),
    activityKey(parts.site, parts.userHash),
    purchasesKey(parts.site, parts.userHash),
  ];
  // A logged-in shopper's anonymous session has its own activity and purchases (a guest checkout
  // before logging in), read too.
  if (anonymousHash !== parts.userHash) {
    keys.push(activityKey(parts.site, anonymousHash), purchasesKey(parts.site, anonymousHash));
  }
  return keys;
}

/**
 * Reads what a recommendation needs from the cache in ONE round trip, within the budget: the lookup
 * script (lookup-script.ts) where the server runs scripts, else a pipeline of the same reads. Rejects
 * with the client's error or `CacheTimeoutError`; the caller treats either as "no cache". When the
 * script's answer leads to the pipeline (the server refused the script, or the worker refused the entry
 * the script took for a hit), the pipeline gets what is left of the one budget, not a second one.
 */
export async function lookupRecommendations(
  redis: Redis,
  parts: RecommendationKeyParts,
  anonymousHash: string,
  budgetMs: number,
  now = Date.now(),
): Promise<CacheLookup> {
  const keys = lookupKeys(parts, anonymousHash);
  const started = Date.now();
  if (!scriptingUnavailable(redis)) {
    let reply: unknown;
    try {
      reply = await withinBudget(
        lookupScript(redis).exec(keys, [String(now), String(ACTIVITY_MAX)]),
        budgetMs,
      );
    } catch (error) {
      if (!noteScriptingRefused(redis, error)) throw error;
    }
    if (reply !== undefined) {
      const found = fromReply(keys, reply, now);
      if (found) return found;
      // The script took the entry for a fresh hit and this worker's parser does not (an entry not
      // written by this version): read again with everything a miss needs.
    }
  }
  const left = budgetMs - (Date.now() - started);
  if (left <= 0) throw new CacheTimeoutError(budgetMs);
  const pipeline = redis.pipeline();
  const [generation, entry, activity, purchases, session, sessionPurchases] = keys;
  pipeline.get(generation as string);
  pipeline.get(entry as string);
  pipeline.lrange(activity as string, 0, ACTIVITY_MAX - 1);
  pipeline.smembers(purchases as string);
  if (session !== undefined) pipeline.lrange(session, 0, ACTIVITY_MAX - 1);
  if (sessionPurchases !== undefined) pipeline.smembers(sessionPurchases);
  const replies = await withinBudget(pipeline.exec<unknown[]>(), left);
  const found = fromReply(keys, replies, now);
  // Only a client that broke its own contract gets here; the caller treats it as a cache failure.
  if (!found) throw new Error(`cache lookup: expected ${keys.length} pipeline replies`);
  return found;
}

/**
 * The lookup from the script's or the pipeline's replies: `[generation, entry]` for what the script
 * judged a fresh hit, `[generation, entry, activity, purchases, session activity?, session purchases?]`
 * otherwise. Undefined when the short answer is not a fresh hit by this worker's own checks.
 */
function fromReply(keys: string[], reply: unknown, now: number): CacheLookup | undefined {
  const [generationRaw, entryRaw, activityRaw, purchasesRaw, sessionRaw, sessionPurchasesRaw] = Array.isArray(
    reply,
  )
    ? reply
    : [];
  const key = keys[1] as string;
  const generation = Number(generationRaw ?? 0);
  const current = Number.isSafeInteger(generation) && generation >= 0 ? generation : 0;
  const candidate = parseEntry(entryRaw);
  const entry = candidate && candidate.g === current ? candidate : undefined;
  if (entry && entry.f > now) return { key, generation: current, fresh: true, entry };
  if (!Array.isArray(reply) || reply.length < 4) return undefined;

  const withSession = keys.length > 4;
  let activity: ActivityEntry[] | undefined;
  const readActivity = (): ActivityEntry[] => {
    activity ??= mergeActivity(parseActivity(activityRaw), withSession ? parseActivity(sessionRaw) : []);
    return activity;
  };
  const purchases = [...new Set([...productIdsOf(purchasesRaw), ...productIdsOf(sessionPurchasesRaw)])];
  const result: CacheMiss = { key, generation: current, fresh: false, activity: readActivity, purchases };
  if (entry) result.entry = entry;
  return result;
}

function productIdsOf(members: unknown): string[] {
  return Array.isArray(members) ? members.filter((v): v is string => typeof v === 'string') : [];
}

/** Writes an entry (fresh for `ttlSeconds`, kept twice as long so it can be served stale). */
export async function storeRecommendations(
  redis: Redis,
  key: string,
  value: Omit<CachedList, 'f'>,
  ttlSeconds: number,
  budgetMs: number,
  now = Date.now(),
): Promise<void> {
  const entry: CachedList = { ...value, f: now + ttlSeconds * 1000 };
  await withinBudget(redis.set(key, JSON.stringify(entry), { ex: ttlSeconds * 2 }), budgetMs);
}

/** Takes the refresh lock of a key; true for the one caller that should recompute. */
export async function acquireRefreshLock(redis: Redis, key: string, budgetMs: number): Promise<boolean> {
  const reply = await withinBudget(redis.set(lockKey(key), '1', { nx: true, ex: 10 }), budgetMs);
  return reply === 'OK';
}
