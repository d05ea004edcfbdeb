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
import { budgetLeft, withinBudget } from './redis-client';

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
 * generation. So each of their sessions has an entry of its own (the session's tag is in the key:
 * keys.ts `recommendationKey`), their lookup also reads the session's generation, and their entry
 * records at which of its generations it was computed (`s`): an entry of an older session generation
 * is a miss too, and one without `s` is a miss for them. Two devices thus keep two entries, each a hit
 * on its own device, and an event of the user (their own generation) invalidates both. A session
 * nothing can be stored under yet (an id made for this request: `Shopper.firstVisit`) is no session:
 * the caller passes the user's hash for it, so the lookup reads no session keys and the entry is the
 * user's alone, a hit on the next request whatever new id that one brings.
 *
 * Writes are conditional (`storeRecommendations`): an entry never replaces a newer one, so a slow
 * request cannot undo the work of one that computed at a later generation, and it never outlives the
 * generation keys its stamp was read from (STORE_SCRIPT says why).
 */

export const CachedListSchema = z.object({
  /** Generation the entry was computed at. */
  g: z.number().int().nonnegative(),
  /** A logged-in shopper's entry of an anonymous session (named by its key): that session's generation it was computed at. */
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
      /** null: the catalogue has no price for it (contracts/api-types.ts RecommendedItem). */
      price: z.number().nullable(),
      score: z.number(),
    }),
  ),
});
export type CachedList = z.infer<typeof CachedListSchema>;

/** Everything one lookup learns about a shopper. */
export type CacheLookup = FreshHit | CacheMiss;

interface LookupBase extends EntryTarget {
  /** The shopper's generation (of `userHash`). */
  generation: number;
  /** A logged-in shopper's anonymous session on this browser: its tag and current generation. */
  session?: SessionGeneration;
}

/**
 * Where an entry is written: its key, and the generation keys its stamp is read from (the shopper's,
 * then their anonymous session's when the key is a session's). A lookup's answer is one.
 */
export interface EntryTarget {
  key: string;
  generationKeys: readonly string[];
}

/** Which anonymous session a logged-in shopper's entry is for (its tag, in the key), and its generation. */
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
 * The tag of a logged-in shopper's anonymous session in their entry's key (`RecommendationKeyParts.
 * session`): a short digest of its hash, so each session (device, browser) has its own entry. It is no
 * secret (both hashes are key names in the same database).
 */
export function sessionTag(anonymousHash: string): string {
  return contextDigest(anonymousHash);
}

/**
 * The keys one lookup reads, in the order the script and the pipeline read them. `anonymousHash` equal
 * to `parts.userHash`: no session (an anonymous shopper, or a logged-in one whose anonymous id is new).
 */
function lookupKeys(parts: RecommendationKeyParts, anonymousHash: string): string[] {
  const withSession = anonymousHash !== parts.userHash;
  const keys = [
    generationKey(parts.site, parts.userHash),
    recommendationKey(withSession ? { ...parts, session: sessionTag(anonymousHash) } : parts),
    activityKey(parts.site, parts.userHash),
    purchasesKey(parts.site, parts.userHash),
  ];
  // A logged-in shopper's anonymous session has its own generation (its events before the login bump
  // only that one), activity and purchases (a guest checkout before logging in), read too.
  if (withSession) {
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
  const left = budgetLeft(budgetMs, started);
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
  const generationKeys = [keys[0] as string];
  if (keys[4] !== undefined) generationKeys.push(keys[4]);
  const current = counter(generationRaw);
  const session = tag === undefined ? undefined : { tag, generation: counter(sessionGenerationRaw) };
  const candidate = parseEntry(entryRaw);
  const entry = candidate && isCurrent(candidate, current, session) ? candidate : undefined;
  if (entry && entry.f > now) {
    const hit: FreshHit = { key, generationKeys, generation: current, fresh: true, entry };
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
  const result: CacheMiss = {
    key,
    generationKeys,
    generation: current,
    fresh: false,
    activity: readActivity,
    purchases,
  };
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
 * Whether an entry was computed at the shopper's current generation and, for a logged-in shopper's
 * session entry, at the session's current generation (the session itself is in the key).
 */
function isCurrent(entry: CachedList, generation: number, session: SessionGeneration | undefined): boolean {
  if (entry.g !== generation) return false;
  return session === undefined || entry.s === session.generation;
}

/** The generations a new entry is stamped with: those its lookup read (`g`, and `s` with a session). */
export function entryGenerations(
  found: Pick<CacheLookup, 'generation' | 'session'>,
): Pick<CachedList, 'g' | 's'> {
  return found.session ? { g: found.generation, s: found.session.generation } : { g: found.generation };
}

/**
 * Whether `stored` is newer than `ours`, so that writing ours would replace work of a later generation:
 * its `g` is greater, or at the same `g` its `s` is (a session's entry). The Lua twin of this rule is
 * STORE_SCRIPT.
 */
function isNewer(stored: CachedList, ours: Pick<CachedList, 'g' | 's'>): boolean {
  if (stored.g !== ours.g) return stored.g > ours.g;
  return ours.s !== undefined && (stored.s ?? 0) > ours.s;
}

/**
 * Whether `stored` is stamped above the current count of a generation key (`current`: the shopper's,
 * then the session's): that key was deleted or evicted after the entry was written, so the entry is a
 * miss for good and is replaced, whatever its stamp (STORE_SCRIPT says why).
 */
function isOrphaned(stored: CachedList, current: number[]): boolean {
  const [generation = 0, session] = current;
  return stored.g > generation || (session !== undefined && stored.s !== undefined && stored.s > session);
}

function productIdsOf(members: unknown): string[] {
  return Array.isArray(members) ? members.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Writes an entry (fresh for `ttlSeconds`, kept twice as long so it can be served stale) under
 * `target.key`, unless its stamp is ahead of a generation key it was read from (that key expired since
 * the lookup) or the entry stored there is newer (`isNewer`), and never for longer than those generation
 * keys live (STORE_SCRIPT explains both). One conditional script where the server runs scripts; else a
 * pipeline of GETs and PTTLs, then the SET only if what it read allows it (not atomic: it only narrows
 * the race, on servers that are not Upstash). True when it wrote. The entry's text has its fields in the
 * order the scripts' patterns expect, whatever the order of `value`'s.
 */
export async function storeRecommendations(
  redis: Redis,
  target: EntryTarget,
  value: Omit<CachedList, 'f'>,
  ttlSeconds: number,
  budgetMs: number,
  now = Date.now(),
): Promise<boolean> {
  const stamp: Pick<CachedList, 'g' | 's'> =
    value.s !== undefined ? { g: value.g, s: value.s } : { g: value.g };
  const [generation, sessionGeneration] = target.generationKeys;
  if (generation === undefined || (stamp.s === undefined) !== (sessionGeneration === undefined)) {
    throw new Error('cache write: a session generation needs the session generation key, and only it');
  }
  const generations: Array<[string, number]> = [[generation, stamp.g]];
  if (sessionGeneration !== undefined) generations.push([sessionGeneration, stamp.s ?? 0]);
  const entry: CachedList = {
    ...stamp,
    source: value.source,
    items: value.items,
    f: now + ttlSeconds * 1000,
  };
  const text = JSON.stringify(entry);
  let px = ttlSeconds * 2 * 1000;
  const started = Date.now();
  if (!scriptingUnavailable(redis, 'store')) {
    const args = [text, String(px), String(stamp.g)];
    if (stamp.s !== undefined) args.push(String(stamp.s));
    const keys = [target.key, ...generations.map(([key]) => key)];
    try {
      return Number(await withinBudget(storeScript(redis).exec(keys, args), budgetMs)) === 1;
    } catch (error) {
      if (!noteScriptingRefused(redis, error, 'store')) throw error;
    }
  }
  const reads = redis.pipeline();
  reads.get(target.key);
  for (const [key] of generations) {
    reads.get(key);
    reads.pttl(key);
  }
  const [storedRaw, ...counts] = await withinBudget(reads.exec<unknown[]>(), budgetLeft(budgetMs, started));
  const current: number[] = [];
  for (const [index, [, stamped]] of generations.entries()) {
    current.push(counter(counts[2 * index]));
    if (stamped > (current[index] ?? 0)) return false;
    const ttl = Number(counts[2 * index + 1]);
    if (ttl > 0 && ttl < px) px = ttl;
  }
  const stored = parseEntry(storedRaw);
  if (stored && !isOrphaned(stored, current) && isNewer(stored, stamp)) return false;
  await withinBudget(redis.set(target.key, text, { px }), budgetLeft(budgetMs, started));
  return true;
}

/** The longest a refresh lock is held: a refresh that died (its isolate went away) blocks no longer. */
const REFRESH_LOCK_SECONDS = 10;

/**
 * Takes the refresh lock of a key; true for the one caller that should recompute. It is not released
 * after the write: it expires, after REFRESH_LOCK_SECONDS or the entry's freshness (`ttlSeconds`),
 * whichever is sooner. A lock outliving the freshness of the entry its refresh wrote would still be
 * held when that entry went stale, and nobody would refresh it: stale until it expired, then a miss.
 */
export async function acquireRefreshLock(
  redis: Redis,
  key: string,
  ttlSeconds: number,
  budgetMs: number,
): Promise<boolean> {
  const ex = Math.min(REFRESH_LOCK_SECONDS, ttlSeconds);
  const reply = await withinBudget(redis.set(lockKey(key), '1', { nx: true, ex }), budgetMs);
  return reply === 'OK';
}
