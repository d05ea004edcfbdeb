/**
 * Rules of the recommendation cache the lookup tests do not pin down: how long an entry is kept past
 * its freshness (served stale while one request refreshes it), and that every part of what a list is
 * for is in its key, and that the lookup script's short answer is for a hit alone.
 */
import { describe, expect, it } from 'vitest';
import {
  activityKey,
  generationKey,
  purchasesKey,
  type RecommendationKeyParts,
  recommendationKey,
} from '../../worker/src/cache/keys';
import { LOOKUP_SCRIPT } from '../../worker/src/cache/lookup-script';
import { sessionTag, storeRecommendations } from '../../worker/src/cache/recommendation-cache';
import { redisFromEnv } from '../../worker/src/cache/redis-client';
import { directRedis, newShopper, provided, SITE } from './edge-api-support';

const BUDGET_MS = 2_000;

describe('storeRecommendations', () => {
  it('keeps an entry twice its freshness, so it can be served stale while it is refreshed', async () => {
    const { url, token } = provided().upstash;
    const redis = redisFromEnv({
      UPSTASH_REDIS_REST_URL: url,
      UPSTASH_REDIS_REST_TOKEN: token,
      CACHE_BUDGET_MS: String(BUDGET_MS),
    });
    if (!redis) throw new Error('no client');
    const shopper = await newShopper();
    const parts: RecommendationKeyParts = {
      site: SITE,
      userHash: shopper.hash,
      placement: 'home',
      context: '[]',
      modelVersion: 'v-ttl',
      bucket: 'treatment',
    };
    const key = recommendationKey(parts);
    // A generation key without an expiry (as none cuts the entry's own), at the stamp's count.
    await directRedis().set(generationKey(SITE, shopper.hash), '1');
    const target = { key, generationKeys: [generationKey(SITE, shopper.hash)] };
    const now = Date.now();
    const value = { g: 1, source: 'popularity' as const, items: [] };
    expect(await storeRecommendations(redis, target, value, 300, BUDGET_MS, now)).toBe(true);
    const ttl = await directRedis().pttl(key);
    expect(ttl).toBeGreaterThan(300_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
    const stored = JSON.parse(String(await directRedis().get(key))) as { f: number };
    expect(stored.f).toBe(now + 300_000);
  });
});

describe('recommendationKey', () => {
  it('changes with every part of what the list is for', () => {
    const parts: RecommendationKeyParts = {
      site: 's',
      userHash: 'u',
      placement: 'home',
      context: '["",""]',
      modelVersion: 'v1',
      bucket: 'treatment',
    };
    const changed: Array<Partial<RecommendationKeyParts>> = [
      { site: 't' },
      { userHash: 'w' },
      { placement: 'cart' },
      { context: '["P1",""]' },
      { modelVersion: 'v2' },
      { bucket: 'holdout' },
      { session: 'tag' },
    ];
    const keys = new Set([
      recommendationKey(parts),
      ...changed.map((c) => recommendationKey({ ...parts, ...c })),
    ]);
    expect(keys.size).toBe(changed.length + 1);
  });
});

describe('the lookup script', () => {
  it("answers a logged-in shopper's entry of an older session generation with everything a miss needs", async () => {
    const user = (await newShopper()).hash;
    const session = (await newShopper()).hash;
    const parts: RecommendationKeyParts = {
      site: SITE,
      userHash: user,
      placement: 'home',
      context: '[]',
      modelVersion: 'v-script',
      bucket: 'treatment',
    };
    const keys = [
      generationKey(SITE, user),
      recommendationKey({ ...parts, session: sessionTag(session) }),
      activityKey(SITE, user),
      purchasesKey(SITE, user),
      generationKey(SITE, session),
      activityKey(SITE, session),
      purchasesKey(SITE, session),
    ];
    const now = Date.now();
    await directRedis().set(
      keys[1] as string,
      `{"g":0,"s":0,"source":"popularity","items":[],"f":${now + 60_000}}`,
    );
    const reply = () => directRedis().evalRo<unknown[], unknown[]>(LOOKUP_SCRIPT, keys, [String(now), '50']);
    // At the session's generation: a hit, three replies.
    expect(await reply()).toHaveLength(3);
    // The session's generation moved: not a hit, so the worker needs no second round trip for the inputs.
    await directRedis().incr(keys[4] as string);
    expect(await reply()).toHaveLength(7);
  });
});
