import type { Redis } from '@upstash/redis/cloudflare';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
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
import { withinBudget } from './redis-client';

/**
 * Cache-aside for recommendation lists, built so a lookup is ONE round trip: a pipeline reads the
 * shopper's generation counter, the cached entry, their recent activity and purchases together, so
 * a miss already has what the model needs.
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
export interface CacheLookup {
  key: string;
  generation: number;
  /** The entry when it exists at the current generation (fresh or stale). */
  entry?: CachedList;
  fresh: boolean;
  /**
   * Recent activity, newest first (the shopper's, then their anonymous session's when logged in).
   * Parsed on first call: a fresh cache hit, the common case, never needs it, and parsing and
   * validating up to 2 × ACTIVITY_MAX entries was the largest CPU cost of a hit.
   */
  activity: () => ActivityEntry[];
  purchases: string[];
}

const ActivityEntrySchema = z.object({
  product_id: z.string().min(1).max(128),
  kind: z.enum(['view', 'cart', 'purchase', 'click']),
  at: z.number(),
});

function parseActivity(raw: unknown): ActivityEntry[] {
  if (!Array.isArray(raw)) return [];
  const entries: ActivityEntry[] = [];
  for (const value of raw) {
    if (typeof value !== 'string') continue;
    try {
      const parsed = ActivityEntrySchema.safeParse(JSON.parse(value));
      if (parsed.success) entries.push(parsed.data);
    } catch {
      // A malformed entry written by something else is skipped, not fatal.
    }
  }
  return entries;
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

/** The consumer writes a logged-in shopper's events under both hashes: each event is kept once. */
function mergeActivity(own: ActivityEntry[], session: ActivityEntry[]): ActivityEntry[] {
  if (session.length === 0) return own;
  const identity = (entry: ActivityEntry) => `${entry.product_id}\n${entry.kind}\n${entry.at}`;
  const seen = new Set(own.map(identity));
  for (const entry of session) if (!seen.has(identity(entry))) own.push(entry);
  return own;
}

/** Reads generation, entry, activity and purchases in one pipeline, within the budget. */
export async function lookupRecommendations(
  redis: Redis,
  parts: RecommendationKeyParts,
  anonymousHash: string,
  budgetMs: number,
  now = Date.now(),
): Promise<CacheLookup> {
  const key = recommendationKey(parts);
  const pipeline = redis.pipeline();
  pipeline.get(generationKey(parts.site, parts.userHash));
  pipeline.get(key);
  pipeline.lrange(activityKey(parts.site, parts.userHash), 0, ACTIVITY_MAX - 1);
  pipeline.smembers(purchasesKey(parts.site, parts.userHash));
  const withSession = anonymousHash !== parts.userHash;
  if (withSession) pipeline.lrange(activityKey(parts.site, anonymousHash), 0, ACTIVITY_MAX - 1);
  const [generationRaw, entryRaw, activityRaw, purchasesRaw, sessionRaw] = await withinBudget(
    pipeline.exec<unknown[]>(),
    budgetMs,
  );
  const generation = Number(generationRaw ?? 0);
  const current = Number.isSafeInteger(generation) && generation >= 0 ? generation : 0;
  const candidate = parseEntry(entryRaw);
  const entry = candidate && candidate.g === current ? candidate : undefined;
  let activity: ActivityEntry[] | undefined;
  const readActivity = (): ActivityEntry[] => {
    activity ??= mergeActivity(parseActivity(activityRaw), withSession ? parseActivity(sessionRaw) : []);
    return activity;
  };
  const purchases = Array.isArray(purchasesRaw)
    ? purchasesRaw.filter((v): v is string => typeof v === 'string')
    : [];
  const result: CacheLookup = {
    key,
    generation: current,
    fresh: entry !== undefined && entry.f > now,
    activity: readActivity,
    purchases,
  };
  if (entry) result.entry = entry;
  return result;
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
