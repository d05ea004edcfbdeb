/**
 * The cache lookup (worker/src/cache/recommendation-cache.ts + lookup-script.ts) against the local
 * Upstash server: on redis-server through the read-only Lua script, on the in-memory backend (no
 * scripting) through the pipeline. Entries are written with the worker's own `storeRecommendations`,
 * so the script's reading of `g` and `f` is checked against what the worker really writes.
 */
import type { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, it } from 'vitest';
import { activityKey, generationKey, purchasesKey, recommendationKey } from '../../worker/src/cache/keys';
import { LOOKUP_SCRIPT, scriptingUnavailable } from '../../worker/src/cache/lookup-script';
import {
  type CachedList,
  lookupRecommendations,
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
  return { parts, session, key: recommendationKey(parts) };
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
    const { parts, key } = await keysFor();
    await seed(directRedis(), parts.userHash, ['X1', 'X2'], ['P1']);
    await storeRecommendations(redis(), key, value(0), 300, BUDGET_MS);

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
    const { parts, key } = await keysFor();
    await seed(directRedis(), parts.userHash, ['X1', 'X2'], ['P1']);
    await storeRecommendations(redis(), key, value(0), 300, BUDGET_MS, Date.now() - 301_000);

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    if (found.fresh) throw new Error('expected a stale entry');
    expect(found.entry?.items).toHaveLength(2);
    expect(found.activity().map((a) => a.product_id)).toEqual(['X1', 'X2']);
    expect(found.purchases).toEqual(['P1']);
  });

  it('an entry of an older generation is a miss, with the inputs of the model', async () => {
    const { parts, key } = await keysFor();
    await seed(directRedis(), parts.userHash, ['X1']);
    await storeRecommendations(redis(), key, value(0), 300, BUDGET_MS);
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

  it('works again after the server forgot its scripts (SCRIPT FLUSH: EVALSHA_RO, then EVAL_RO)', async () => {
    const { parts, key } = await keysFor();
    await storeRecommendations(redis(), key, value(0), 300, BUDGET_MS);
    await directRedis().scriptFlush();

    const found = await lookupRecommendations(redis(), parts, parts.userHash, BUDGET_MS);
    expect(found.fresh).toBe(true);
    const sha = await directRedis().scriptLoad(LOOKUP_SCRIPT);
    expect(await directRedis().scriptExists(sha)).toEqual([1]);
    expect(scriptingUnavailable(redis())).toBe(false);
  });
});

describe('cache lookup on a server without scripting (in-memory backend): the pipeline', () => {
  const redis = () => workerClient(provided().memoryUpstash);

  it('finds hits and misses the same way, and stops trying the script after the first refusal', async () => {
    const client = redis();
    const { parts, key } = await keysFor();
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

    await storeRecommendations(client, key, value(0), 300, BUDGET_MS);
    const hit = await lookupRecommendations(client, parts, parts.userHash, BUDGET_MS);
    expect(hit.fresh).toBe(true);
    expect(hit.entry?.items.map((i) => i.product_id)).toEqual(['A', 'B']);
  });
});
