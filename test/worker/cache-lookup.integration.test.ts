/**
 * The cache lookup (worker/src/cache/recommendation-cache.ts + lookup-script.ts) against the local
 * Upstash server: on redis-server through the read-only Lua script, on the in-memory backend (no
 * scripting) through the pipeline. Entries are written with the worker's own `storeRecommendations`,
 * so the script's reading of `g` and `f` is checked against what the worker really writes.
 */
import type { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, it } from 'vitest';
import {
  activityKey,
  generationKey,
  purchasesKey,
  type RecommendationKeyParts,
  recommendationKey,
} from '../../worker/src/cache/keys';
import { LOOKUP_SCRIPT, scriptingUnavailable } from '../../worker/src/cache/lookup-script';
import {
  type CachedList,
  type EntryTarget,
  entryGenerations,
  lookupRecommendations,
  sessionTag,
  storeRecommendations,
} from '../../worker/src/cache/recommendation-cache';
import { redisFromEnv } from '../../worker/src/cache/redis-client';
import { directRedis, newShopper, provided, SITE } from './edge-api-support';

const BUDGET_MS = 2_000;

const item = (id: string) => ({
  product_id: id,
  title: `Item ${id}`,
  url: `/p/${id}`,
  image: '/i',
  price: 1,
  score: 1,
});
const value = (g: number): Omit<CachedList, 'f'> => ({
  g,
  source: 'personal',
  items: [item('A'), item('B')],
});

/** The worker's client (no retries, raw strings) for a server. */
function workerClient(server: { url: string; token: string }): Redis {
  const client = redisFromEnv({
    UPSTASH_REDIS_REST_URL: server.url,
    UPSTASH_REDIS_REST_TOKEN: server.token,
    CACHE_BUDGET_MS: String(BUDGET_MS),
  });
  if (!client) throw new Error('no client');
  return client;
}

/**
 * A new shopper's lookup parts, the hash of their session (their own when `anonymous`, else a logged-in
 * shopper's anonymous session), and where the lookup of that session finds and writes its entry.
 */
async function keysFor(anonymous = true) {
  const shopper = await newShopper();
  const parts = {
    site: SITE,
    userHash: shopper.hash,
    placement: 'product',
    context: `p=${shopper.id}`,
    modelVersion: 'fixture-v1',
    bucket: 'treatment',
  };
  const session = anonymous ? shopper.hash : (await newShopper()).hash;
  const target = targetOf(parts, session);
  return { parts, session, key: target.key, target };
}

/** The entry key and generation keys of a lookup of `parts` for session `session` (its own hash: none). */
function targetOf(parts: RecommendationKeyParts, session: string): EntryTarget {
  if (session === parts.userHash) {
    return { key: recommendationKey(parts), generationKeys: [generationKey(SITE, parts.userHash)] };
  }
  return {
    key: recommendationKey({ ...parts, session: sessionTag(session) }),
    generationKeys: [generationKey(SITE, parts.userHash), generationKey(SITE, session)],
  };
}

async function seed(
  redis: Redis,
  hash: string,
  productIds: string[],
  purchases: string[] = [],
  now = Date.now(),
) {
  const entries = productIds.map((id, i) => JSON.stringify({ product_id: id, kind: 'view', at: now - i }));
  if (entries.length > 0) await redis.rpush(activityKey(SITE, hash), ...entries);
  if (purchases.length > 0)
    await redis.sadd(purchasesKey(SITE, hash), purchases[0] as string, ...purchases.slice(1));
}

describe('cache lookup on redis-server: one read-only script', () => {
  const redis = () => workerClient(provided().upstash);

  it("a fresh hit answers the worker's own entry and nothing else (two replies, no activity)", async () => {
    const { parts, key, target } = await keysFor();
    await seed(directRedis(), parts.userHash, ['X1', 'X2'], ['P1']);
    await storeRecommendations(redis(), target, value(0), 300, BUDGET_MS);

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    expect(found.fresh).toBe(true);
    expect(found.entry?.items.map((i) => i.product_id)).toEqual(['A', 'B']);
    expect('activity' in found).toBe(false);

    const keys = [
      generationKey(SITE, parts.userHash),
      key,
      activityKey(SITE, parts.userHash),
      purchasesKey(SITE, parts.userHash),
    ];
    const reply = await directRedis().evalRo<unknown[], unknown[]>(LOOKUP_SCRIPT, keys, [
      String(Date.now()),
      '50',
    ]);
    expect(reply).toHaveLength(2);
  });

  it('an entry past its freshness comes with activity and purchases, for the background refresh', async () => {
    const { parts, target } = await keysFor();
    await seed(directRedis(), parts.userHash, ['X1', 'X2'], ['P1']);
    await storeRecommendations(redis(), target, value(0), 300, BUDGET_MS, Date.now() - 301_000);

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    if (found.fresh) throw new Error('expected a stale entry');
    expect(found.entry?.items).toHaveLength(2);
    expect(found.activity().map((a) => a.product_id)).toEqual(['X1', 'X2']);
    expect(found.purchases).toEqual(['P1']);
  });

  it('an entry of an older generation is a miss, with the inputs of the model', async () => {
    const { parts, target } = await keysFor();
    await seed(directRedis(), parts.userHash, ['X1']);
    await storeRecommendations(redis(), target, value(0), 300, BUDGET_MS);
    await directRedis().incr(generationKey(SITE, parts.userHash));

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    if (found.fresh) throw new Error('expected a miss');
    expect(found.entry).toBeUndefined();
    expect(found.generation).toBe(1);
    expect(found.activity().map((a) => a.product_id)).toEqual(['X1']);
  });

  it("a logged-in shopper's miss also carries their anonymous session's activity and purchases, merged by time", async () => {
    const { parts, session } = await keysFor(false);
    // Their own history is weeks old; this session (browsed, and bought as a guest) is from today.
    await seed(directRedis(), parts.userHash, ['OWN1', 'OWN2'], ['BOUGHT'], Date.now() - 20 * 86_400_000);
    await seed(directRedis(), session, ['SESSION1', 'SESSION2'], ['GUEST-BOUGHT']);

    const found = await lookupRecommendations(redis(), parts, session, BUDGET_MS);
    if (found.fresh) throw new Error('expected a miss');
    expect(found.activity().map((a) => a.product_id)).toEqual(['SESSION1', 'SESSION2', 'OWN1', 'OWN2']);
    expect([...found.purchases].sort()).toEqual(['BOUGHT', 'GUEST-BOUGHT']);
  });

  it('an entry the script cannot read (other key order) is still found fresh by the worker', async () => {
    const { parts, key } = await keysFor();
    const reordered = { f: Date.now() + 60_000, ...value(0) };
    await directRedis().set(key, JSON.stringify(reordered));

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    expect(found.fresh).toBe(true);
  });

  it('an entry the script takes for a hit but the worker rejects is read again as a miss', async () => {
    const { parts, key } = await keysFor();
    await seed(directRedis(), parts.userHash, ['X1']);
    // Matches the script's patterns, fails the worker's schema (unknown source).
    await directRedis().set(key, `{"g":0,"source":"bogus","items":[],"f":${Date.now() + 60_000}}`);

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    if (found.fresh) throw new Error('expected a miss');
    expect(found.entry).toBeUndefined();
    expect(found.activity().map((a) => a.product_id)).toEqual(['X1']);
  });

  it("a logged-in shopper's entry is a miss once their anonymous session's generation moves (guest events before login bump only it)", async () => {
    const { parts, session, key, target } = await keysFor(false);
    await seed(directRedis(), session, ['SESSION1']);
    const first = await lookupRecommendations(redis(), parts, session, BUDGET_MS);
    expect(first.session).toEqual({ tag: sessionTag(session), generation: 0 });
    // The session's own entry, under the user's hash and the session's tag.
    expect(first.key).toBe(key);
    expect(key).toContain(`:rec:${parts.userHash}.${sessionTag(session)}:`);
    expect(first.generationKeys).toEqual(target.generationKeys);
    await storeRecommendations(redis(), first, { ...value(0), ...entryGenerations(first) }, 300, BUDGET_MS);
    expect((await lookupRecommendations(redis(), parts, session, BUDGET_MS)).fresh).toBe(true);
    // The script's short answer for a logged-in hit: generation, entry and the session's generation.
    const keys = [
      generationKey(SITE, parts.userHash),
      key,
      activityKey(SITE, parts.userHash),
      purchasesKey(SITE, parts.userHash),
      generationKey(SITE, session),
      activityKey(SITE, session),
      purchasesKey(SITE, session),
    ];
    const args = [String(Date.now()), '50'];
    expect(await directRedis().evalRo<unknown[], unknown[]>(LOOKUP_SCRIPT, keys, args)).toHaveLength(3);

    // Guest browsing on this browser (no user id): only the session's generation moves.
    await directRedis().incr(generationKey(SITE, session));
    const after = await lookupRecommendations(redis(), parts, session, BUDGET_MS);
    if (after.fresh) throw new Error("expected a miss: the session's activity changed");
    expect(after.entry).toBeUndefined();
    expect(after.generation).toBe(0);
    expect(after.session?.generation).toBe(1);
    expect(after.activity().map((a) => a.product_id)).toEqual(['SESSION1']);

    // Stored again at the generations this lookup read, it is a hit again.
    await storeRecommendations(redis(), after, { ...value(0), ...entryGenerations(after) }, 300, BUDGET_MS);
    expect((await lookupRecommendations(redis(), parts, session, BUDGET_MS)).fresh).toBe(true);
  });

  it("a logged-in shopper on two devices has an entry per device: each is a hit there, and the user's generation invalidates both", async () => {
    const { parts, session } = await keysFor(false);
    const otherDevice = (await newShopper()).hash;
    for (const hash of [session, otherDevice]) await directRedis().incr(generationKey(SITE, hash));
    const storeFor = async (hash: string, first: string) => {
      const found = await lookupRecommendations(redis(), parts, hash, BUDGET_MS);
      if (found.fresh) throw new Error('expected a miss before the first write');
      const stored = valueWith(entryGenerations(found), first);
      expect(await storeRecommendations(redis(), found, stored, 300, BUDGET_MS)).toBe(true);
    };
    await storeFor(otherDevice, 'THERE');
    await storeFor(session, 'HERE');
    // Switching back and forth: neither write replaced the other's entry.
    for (const [hash, first] of [
      [otherDevice, 'THERE'],
      [session, 'HERE'],
      [otherDevice, 'THERE'],
    ] as const) {
      const found = await lookupRecommendations(redis(), parts, hash, BUDGET_MS);
      expect(found.fresh).toBe(true);
      expect(found.entry?.items[0]?.product_id).toBe(first);
    }
    // An event of the user (with their user id) bumps their generation: a miss on both devices.
    await directRedis().incr(generationKey(SITE, parts.userHash));
    for (const hash of [session, otherDevice]) {
      const found = await lookupRecommendations(redis(), parts, hash, BUDGET_MS);
      expect(found.fresh).toBe(false);
      expect(found.entry).toBeUndefined();
    }
  });

  it('an entry without a session generation under a session key is a miss for the logged-in shopper', async () => {
    const { parts, session, key } = await keysFor(false);
    await directRedis().set(key, JSON.stringify({ ...value(0), f: Date.now() + 60_000 }));
    const loggedIn = await lookupRecommendations(redis(), parts, session, BUDGET_MS);
    if (loggedIn.fresh) throw new Error('expected a miss');
    expect(loggedIn.entry).toBeUndefined();
    // Under an anonymous shopper's key the same entry is what it always was: a hit.
    const anonymous = await keysFor();
    await storeRecommendations(redis(), anonymous.target, value(0), 300, BUDGET_MS);
    expect((await lookupRecommendations(redis(), anonymous.parts, anonymous.session, BUDGET_MS)).fresh).toBe(
      true,
    );
  });

  it('works again after the server forgot its scripts (SCRIPT FLUSH: EVALSHA_RO, then EVAL_RO)', async () => {
    const { parts, target } = await keysFor();
    await storeRecommendations(redis(), target, value(0), 300, BUDGET_MS);
    await directRedis().scriptFlush();

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    expect(found.fresh).toBe(true);
    const sha = await directRedis().scriptLoad(LOOKUP_SCRIPT);
    expect(await directRedis().scriptExists(sha)).toEqual([1]);
    expect(scriptingUnavailable(redis())).toBe(false);
  });
});

/** The `g` and the first item of the entry stored under `key`. */
async function storedEntry(client: Redis, key: string) {
  const entry = JSON.parse(String(await client.get(key))) as CachedList;
  return { g: entry.g, s: entry.s, first: entry.items[0]?.product_id };
}

const valueWith = (stamp: Pick<CachedList, 'g' | 's'>, first: string): Omit<CachedList, 'f'> => ({
  ...stamp,
  source: 'personal',
  items: [item(first)],
});

/** The conditional write, the same on either server (the script, or GET then SET). */
async function writesNeverReplaceNewerEntries(client: Redis) {
  const { key, target } = await keysFor();
  // The shopper's counter is at 3: every stamp below is of a generation that has existed.
  await client.set(target.generationKeys[0] as string, '3');
  const store = (stamp: Pick<CachedList, 'g' | 's'>, first: string) =>
    storeRecommendations(client, target, valueWith(stamp, first), 300, BUDGET_MS);
  expect(await store({ g: 2 }, 'NEWER')).toBe(true);
  // A request that computed at generation 1 (its lookup was before the event) comes second: kept out.
  expect(await store({ g: 1 }, 'OLDER')).toBe(false);
  expect(await storedEntry(client, key)).toMatchObject({ g: 2, first: 'NEWER' });
  // The same generation, or a later one, is written.
  expect(await store({ g: 2 }, 'SAME')).toBe(true);
  expect(await storedEntry(client, key)).toMatchObject({ g: 2, first: 'SAME' });
  expect(await store({ g: 3 }, 'LATER')).toBe(true);
  expect(await storedEntry(client, key)).toMatchObject({ g: 3, first: 'LATER' });

  // Logged in, one entry per session: at the same `g` the session's generation counts, and an older
  // `g` never wins whatever its `s`.
  const { key: sessionKey, target: sessionTarget } = await keysFor(false);
  const [userGeneration, sessionGeneration] = sessionTarget.generationKeys as [string, string];
  await client.set(userGeneration, '1');
  await client.set(sessionGeneration, '9');
  const at = (stamp: Pick<CachedList, 'g' | 's'>, first: string) =>
    storeRecommendations(client, sessionTarget, valueWith(stamp, first), 300, BUDGET_MS);
  expect(await at({ g: 1, s: 2 }, 'S2')).toBe(true);
  expect(await at({ g: 1, s: 1 }, 'S1')).toBe(false);
  expect(await storedEntry(client, sessionKey)).toMatchObject({ g: 1, s: 2, first: 'S2' });
  expect(await at({ g: 0, s: 9 }, 'OLD-G')).toBe(false);
  expect(await at({ g: 1, s: 3 }, 'S3')).toBe(true);
  expect(await storedEntry(client, sessionKey)).toMatchObject({ g: 1, s: 3, first: 'S3' });
}

/** Resolves once `key` no longer exists (a short PX ran out). */
async function expired(client: Redis, key: string): Promise<void> {
  for (let i = 0; i < 50 && (await client.pttl(key)) !== -2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await client.pttl(key)).toBe(-2);
}

/**
 * An entry never outlives the generation keys it was stamped from. Were it to (an entry stamped `g: 3`
 * kept for its 600 s after the counter expired back to 0), every new entry, stamped 0, would be turned
 * away as older until then: each request a miss running the model, and no write landing.
 */
async function entriesLiveNoLongerThanTheirGenerations(client: Redis) {
  const { parts, session, key, target } = await keysFor(false);
  const [userGeneration, sessionGeneration] = target.generationKeys as [string, string];
  // The consumer's counters near the end of their 30 days (EXPIRE at the last INCR): moments left.
  await client.set(userGeneration, '3', { px: 1_500 });
  await client.set(sessionGeneration, '2', { px: 1_200 });
  const found = await lookupRecommendations(client, parts, session, BUDGET_MS);
  expect(entryGenerations(found)).toEqual({ g: 3, s: 2 });
  expect(
    await storeRecommendations(client, found, valueWith(entryGenerations(found), 'AT-3'), 300, BUDGET_MS),
  ).toBe(true);
  const ttl = await client.pttl(key);

  // Both counters expire (they read 0 again) and the entry stamped with them is gone as well: the
  // next lookup's list is written, and a hit after it.
  await expired(client, userGeneration);
  const after = await lookupRecommendations(client, parts, session, BUDGET_MS);
  if (after.fresh) throw new Error('expected a miss');
  expect(entryGenerations(after)).toEqual({ g: 0, s: 0 });
  expect(
    await storeRecommendations(client, after, valueWith(entryGenerations(after), 'AT-0'), 300, BUDGET_MS),
  ).toBe(true);
  const hit = await lookupRecommendations(client, parts, session, BUDGET_MS);
  expect(hit.fresh).toBe(true);
  expect(hit.entry?.items[0]?.product_id).toBe('AT-0');
  // Because it lived no longer than the sooner of the two counters.
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(1_200);

  // A counter gone between a lookup and its write: the stamp names a count that no longer exists, and
  // the entry, a miss for every lookup from now on, would turn their writes away. Not written.
  const other = await keysFor();
  await client.set(other.target.generationKeys[0] as string, '2');
  const before = await lookupRecommendations(client, other.parts, other.session, BUDGET_MS);
  expect(before.generation).toBe(2);
  await client.del(other.target.generationKeys[0] as string);
  expect(
    await storeRecommendations(client, before, valueWith(entryGenerations(before), 'G2'), 300, BUDGET_MS),
  ).toBe(false);
  expect(await client.get(other.key)).toBeNull();
}

/**
 * A generation key deleted or evicted (not expired) after an entry was stamped with it: the entry,
 * stamped above the count now there, is a miss for every lookup, and must not turn their writes away
 * as "newer" until its own TTL ends (each request running the model meanwhile). The lookups' next
 * write replaces it.
 */
async function orphanedEntriesAreReplaced(client: Redis) {
  const { parts, session, key, target } = await keysFor();
  const userGeneration = target.generationKeys[0] as string;
  await client.set(userGeneration, '3');
  const found = await lookupRecommendations(client, parts, session, BUDGET_MS);
  expect(
    await storeRecommendations(client, found, valueWith(entryGenerations(found), 'AT-3'), 300, BUDGET_MS),
  ).toBe(true);
  await client.del(userGeneration);
  const after = await lookupRecommendations(client, parts, session, BUDGET_MS);
  if (after.fresh) throw new Error('expected a miss: the entry names a generation that is gone');
  expect(
    await storeRecommendations(client, after, valueWith(entryGenerations(after), 'AT-0'), 300, BUDGET_MS),
  ).toBe(true);
  const hit = await lookupRecommendations(client, parts, session, BUDGET_MS);
  expect(hit.fresh).toBe(true);
  expect(hit.entry?.items[0]?.product_id).toBe('AT-0');
  expect(await storedEntry(client, key)).toMatchObject({ g: 0, first: 'AT-0' });

  // The same for a logged-in shopper's session generation.
  const loggedIn = await keysFor(false);
  const [user, sessionGeneration] = loggedIn.target.generationKeys as [string, string];
  await client.set(user, '1');
  await client.set(sessionGeneration, '4');
  const first = await lookupRecommendations(client, loggedIn.parts, loggedIn.session, BUDGET_MS);
  expect(
    await storeRecommendations(client, first, valueWith(entryGenerations(first), 'S4'), 300, BUDGET_MS),
  ).toBe(true);
  await client.del(sessionGeneration);
  const next = await lookupRecommendations(client, loggedIn.parts, loggedIn.session, BUDGET_MS);
  if (next.fresh) throw new Error("expected a miss: the session's generation is gone");
  expect(entryGenerations(next)).toEqual({ g: 1, s: 0 });
  expect(
    await storeRecommendations(client, next, valueWith(entryGenerations(next), 'S0'), 300, BUDGET_MS),
  ).toBe(true);
  expect(await storedEntry(client, loggedIn.key)).toMatchObject({ g: 1, s: 0, first: 'S0' });

  // An entry that is merely newer (its generation exists) still wins over an older stamp.
  await client.set(user, '2');
  expect(
    await storeRecommendations(client, loggedIn.target, valueWith({ g: 2, s: 0 }, 'G2'), 300, BUDGET_MS),
  ).toBe(true);
  expect(
    await storeRecommendations(client, loggedIn.target, valueWith({ g: 1, s: 0 }, 'G1'), 300, BUDGET_MS),
  ).toBe(false);
}

/** The conditional write's rules, each checked on both kinds of server. */
const CONDITIONAL_WRITE_RULES = [
  ['an entry of an older generation never replaces a newer one', writesNeverReplaceNewerEntries],
  [
    'an entry lives no longer than its generation keys, nor is stamped with one that is gone',
    entriesLiveNoLongerThanTheirGenerations,
  ],
  [
    'an entry whose generation key was deleted or evicted is replaced, not "newer"',
    orphanedEntriesAreReplaced,
  ],
] as const;

describe('conditional write (storeRecommendations)', () => {
  for (const [rule, check] of CONDITIONAL_WRITE_RULES) {
    it(`on redis-server (one script): ${rule}`, async () => {
      const client = workerClient(provided().upstash);
      await check(client);
      expect(scriptingUnavailable(client, 'store')).toBe(false);
    });

    it(`on a server without scripting (GETs and PTTLs, then SET): ${rule}`, async () => {
      const client = workerClient(provided().memoryUpstash);
      await check(client);
      expect(scriptingUnavailable(client, 'store')).toBe(true);
    });
  }
});

describe('cache lookup on a server without scripting (in-memory backend): the pipeline', () => {
  const redis = () => workerClient(provided().memoryUpstash);

  it('finds hits and misses the same way, and stops trying the script after the first refusal', async () => {
    const client = redis();
    const { parts, target } = await keysFor();
    await seed(client, parts.userHash, ['X1', 'X2'], ['P1']);

    const miss = await lookupRecommendations(client, parts, parts.userHash, BUDGET_MS);
    if (miss.fresh) throw new Error('expected a miss');
    expect(miss.activity().map((a) => a.product_id)).toEqual(['X1', 'X2']);
    expect(miss.purchases).toEqual(['P1']);
    expect(scriptingUnavailable(client)).toBe(true);

    // Logged in: the anonymous session's activity and guest purchases come along, merged by time.
    const session = (await newShopper()).hash;
    await seed(client, session, ['S1'], ['GUEST-P'], Date.now() + 1_000);
    const loggedIn = await lookupRecommendations(client, parts, session, BUDGET_MS);
    if (loggedIn.fresh) throw new Error('expected a miss');
    expect(loggedIn.activity().map((a) => a.product_id)).toEqual(['S1', 'X1', 'X2']);
    expect([...loggedIn.purchases].sort()).toEqual(['GUEST-P', 'P1']);

    await storeRecommendations(client, target, value(0), 300, BUDGET_MS);
    const hit = await lookupRecommendations(client, parts, parts.userHash, BUDGET_MS);
    expect(hit.fresh).toBe(true);
    expect(hit.entry?.items.map((i) => i.product_id)).toEqual(['A', 'B']);
  });

  it("a logged-in shopper's entry is a miss once their anonymous session's generation moves", async () => {
    const client = redis();
    const { parts, session } = await keysFor(false);
    const first = await lookupRecommendations(client, parts, session, BUDGET_MS);
    await storeRecommendations(client, first, { ...value(0), ...entryGenerations(first) }, 300, BUDGET_MS);
    expect((await lookupRecommendations(client, parts, session, BUDGET_MS)).fresh).toBe(true);
    await client.incr(generationKey(SITE, session));
    const after = await lookupRecommendations(client, parts, session, BUDGET_MS);
    if (after.fresh) throw new Error("expected a miss: the session's activity changed");
    expect(after.entry).toBeUndefined();
    expect(after.session?.generation).toBe(1);
  });
});
