import type { Redis } from '@upstash/redis/cloudflare';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { mergeActivity, parseActivity } from './activity-list';
import {
  ACTIVITY_MAX,
  type ActivityEntry,
  activityKey,
  contextDigest,
  generationKey,
  lockKey,
  purchasesKey,
  type RecommendationKeyParts,
  recommendationKey,
} from './keys';
import { lookupScript, noteScriptingRefused, scriptingUnavailable, storeScript } from './lookup-script';
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
 *
 * A logged-in shopper's list also depends on their anonymous session on this browser (its activity and
 * purchases are merged in), whose events before the login carry no user id and bump only the session's
 * generation. So their lookup also reads the session's generation, and their entry records which
 * session it was computed for (`a`, a tag of the anonymous hash) and at which of its generations (`s`):
 * an entry of another session (another device, another browser) or of an older session generation is a
 * miss too. An entry without them (written before they existed) is a miss for a logged-in shopper.
 *
 * Writes are conditional (`storeRecommendations`): an entry never replaces a newer one, so a slow
 * request cannot undo the work of one that computed at a later generation.
 */

export const CachedListSchema = z.object({
  /** Generation the entry was computed at. */
  g: z.number().int().nonnegative(),
  /** A logged-in shopper's entry: the tag of the anonymous session it was computed for (`sessionTag`, hex). */
  a: z
    .string()
    .regex(/^[0-9a-f]+$/i)
    .optional(),
  /** A logged-in shopper's entry: that session's generation it was computed at. */
  s: z.number().int().nonnegative().optional(),
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
  /** The shopper's generation (of `userHash`). */
  generation: number;
  /** A logged-in shopper's anonymous session on this browser: its tag and current generation. */
  session?: SessionGeneration;
}

/** Which anonymous session a logged-in shopper's entry is for, and at which of its generations. */
export interface SessionGeneration {
  tag: string;
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
  /** The entry when it exists at the current generation(s) (stale: served while it is recomputed). */
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

/**
 * The tag a logged-in shopper's entry carries for their anonymous session (`a`): a short digest of its
 * hash. It tells sessions apart, so two devices whose sessions happen to be at the same generation
 * do not share an entry; it is no secret (both hashes are key names in the same database).
 */
export function sessionTag(anonymousHash: string): string {
  return contextDigest(anonymousHash);
}

/** The keys one lookup reads, in the order the script and the pipeline read them. */
function lookupKeys(parts: RecommendationKeyParts, anonymousHash: string): string[] {
  const keys = [
    generationKey(parts.site, parts.userHash),
    recommendationKey(parts),
    activityKey(parts.site, parts.userHash),
    purchasesKey(parts.site, parts.userHash),
  ];
  // A logged-in shopper's anonymous session has its own generation (its events before the login bump
  // only that one), activity and purchases (a guest checkout before logging in), read too.
  if (anonymousHash !== parts.userHash) {
    keys.push(
      generationKey(parts.site, anonymousHash),
      activityKey(parts.site, anonymousHash),
      purchasesKey(parts.site, anonymousHash),
    );
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
  const tag = keys.length > 4 ? sessionTag(anonymousHash) : undefined;
  const started = Date.now();
  if (!scriptingUnavailable(redis)) {
    let reply: unknown;
    const args = [String(now), String(ACTIVITY_MAX)];
    if (tag !== undefined) args.push(tag);
    try {
      reply = await withinBudget(lookupScript(redis).exec(keys, args), budgetMs);
    } catch (error) {
      if (!noteScriptingRefused(redis, error)) throw error;
    }
    if (reply !== undefined) {
      const found = fromReply(keys, tag, reply, now);
      if (found) return found;
      // The script took the entry for a fresh hit and this worker's parser does not (an entry not
      // written by this version): read again with everything a miss needs.
    }
  }
  const left = budgetMs - (Date.now() - started);
  if (left <= 0) throw new CacheTimeoutError(budgetMs);
  const pipeline = redis.pipeline();
  const [generation, entry, activity, purchases, sessionGeneration, session, sessionPurchases] = keys;
  pipeline.get(generation as string);
  pipeline.get(entry as string);
  pipeline.lrange(activity as string, 0, ACTIVITY_MAX - 1);
  pipeline.smembers(purchases as string);
  if (sessionGeneration !== undefined) pipeline.get(sessionGeneration);
  if (session !== undefined) pipeline.lrange(session, 0, ACTIVITY_MAX - 1);
  if (sessionPurchases !== undefined) pipeline.smembers(sessionPurchases);
  const replies = await withinBudget(pipeline.exec<unknown[]>(), left);
  const found = fromReply(keys, tag, replies, now);
  // Only a client that broke its own contract gets here; the caller treats it as a cache failure.
  if (!found) throw new Error(`cache lookup: expected ${keys.length} pipeline replies`);
  return found;
}

/**
 * The lookup from the script's or the pipeline's replies: `[generation, entry, session generation?]`
 * for what the script judged a fresh hit, `[generation, entry, activity, purchases, session generation?,
 * session activity?, session purchases?]` otherwise (the session's three for a logged-in shopper, whose
 * session `tag` is given). Undefined when the short answer is not a fresh hit by this worker's own checks.
 */
function fromReply(
  keys: string[],
  tag: string | undefined,
  reply: unknown,
  now: number,
): CacheLookup | undefined {
  const replies = Array.isArray(reply) ? reply : [];
  const complete = replies.length >= 4;
  const [generationRaw, entryRaw, activityRaw, purchasesRaw] = replies;
  const [sessionGenerationRaw, sessionRaw, sessionPurchasesRaw] = complete
    ? replies.slice(4)
    : replies.slice(2);
  const key = keys[1] as string;
  const current = counter(generationRaw);
  const session = tag === undefined ? undefined : { tag, generation: counter(sessionGenerationRaw) };
  const candidate = parseEntry(entryRaw);
  const entry = candidate && isCurrent(candidate, current, session) ? candidate : undefined;
  if (entry && entry.f > now) {
    const hit: FreshHit = { key, generation: current, fresh: true, entry };
    if (session) hit.session = session;
    return hit;
  }
  if (!complete) return undefined;

  const withSession = session !== undefined;
  let activity: ActivityEntry[] | undefined;
  const readActivity = (): ActivityEntry[] => {
    activity ??= mergeActivity(parseActivity(activityRaw), withSession ? parseActivity(sessionRaw) : []);
    return activity;
  };
  const purchases = [...new Set([...productIdsOf(purchasesRaw), ...productIdsOf(sessionPurchasesRaw)])];
  const result: CacheMiss = { key, generation: current, fresh: false, activity: readActivity, purchases };
  if (session) result.session = session;
  if (entry) result.entry = entry;
  return result;
}

/** A generation counter's reply (absent: 0). */
function counter(raw: unknown): number {
  const value = Number(raw ?? 0);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/**
 * Whether an entry was computed at the shopper's current generation and, for a logged-in shopper,
 * for this anonymous session at its current generation.
 */
function isCurrent(entry: CachedList, generation: number, session: SessionGeneration | undefined): boolean {
  if (entry.g !== generation) return false;
  return session === undefined || (entry.a === session.tag && entry.s === session.generation);
}

/** The generations a new entry is stamped with: those its lookup read (`g`, and `a` and `s` when logged in). */
export function entryGenerations(
  found: Pick<CacheLookup, 'generation' | 'session'>,
): Pick<CachedList, 'g' | 'a' | 's'> {
  return found.session
    ? { g: found.generation, a: found.session.tag, s: found.session.generation }
    : { g: found.generation };
}

/**
 * Whether `stored` is newer than `ours`, so that writing ours would replace work of a later generation:
 * its `g` is greater, or it is of the same session at a greater `s`. Another session's entry at the same
 * `g` is not newer (the last write wins). The Lua twin of this rule is STORE_SCRIPT.
 */
function isNewer(stored: CachedList, ours: Pick<CachedList, 'g' | 'a' | 's'>): boolean {
  if (stored.g !== ours.g) return stored.g > ours.g;
  return ours.a !== undefined && stored.a === ours.a && (stored.s ?? 0) > (ours.s ?? 0);
}

function productIdsOf(members: unknown): string[] {
  return Array.isArray(members) ? members.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Writes an entry (fresh for `ttlSeconds`, kept twice as long so it can be served stale), unless the
 * entry stored under the key is newer (`isNewer`): one conditional script (STORE_SCRIPT) where the
 * server runs scripts; else a GET, then the SET only if what it read is not newer (not atomic: it only
 * narrows the race, on servers that are not Upstash). True when it wrote. The entry's text has its
 * fields in the order the scripts' patterns expect, whatever the order of `value`'s.
 */
export async function storeRecommendations(
  redis: Redis,
  key: string,
  value: Omit<CachedList, 'f'>,
  ttlSeconds: number,
  budgetMs: number,
  now = Date.now(),
): Promise<boolean> {
  const stamp: Pick<CachedList, 'g' | 'a' | 's'> =
    value.a !== undefined && value.s !== undefined ? { g: value.g, a: value.a, s: value.s } : { g: value.g };
  const entry: CachedList = {
    ...stamp,
    source: value.source,
    items: value.items,
    f: now + ttlSeconds * 1000,
  };
  const text = JSON.stringify(entry);
  const ex = ttlSeconds * 2;
  const started = Date.now();
  if (!scriptingUnavailable(redis, 'store')) {
    const args = [text, String(ex), String(stamp.g)];
    if (stamp.a !== undefined) args.push(stamp.a, String(stamp.s));
    try {
      return Number(await withinBudget(storeScript(redis).exec([key], args), budgetMs)) === 1;
    } catch (error) {
      if (!noteScriptingRefused(redis, error, 'store')) throw error;
    }
  }
  const left = () => {
    const ms = budgetMs - (Date.now() - started);
    if (ms <= 0) throw new CacheTimeoutError(budgetMs);
    return ms;
  };
  const stored = parseEntry(await withinBudget(redis.get(key), left()));
  if (stored && isNewer(stored, stamp)) return false;
  await withinBudget(redis.set(key, text, { ex }), left());
  return true;
}

/** Takes the refresh lock of a key; true for the one caller that should recompute. */
export async function acquireRefreshLock(redis: Redis, key: string, budgetMs: number): Promise<boolean> {
  const reply = await withinBudget(redis.set(lockKey(key), '1', { nx: true, ex: 10 }), budgetMs);
  return reply === 'OK';
}
