/**
 * Recommendations for shoppers who may not be tracked (worker/src/recommend/context-only.ts): from the
 * page alone, equal to what a first-time shopper gets, computed once per query and isolate, and never
 * touching the per-user cache.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RecommendedItem } from '../../contracts/api-types';
import { getContextRecommendations } from '../../worker/src/recommend/context-only';
import type { RecommendationQuery } from '../../worker/src/recommend/types';
import {
  categoryOfProduct,
  directRedis,
  edgeEnv,
  productId,
  publish,
  recommend,
  warmIsolate,
} from './edge-api-support';

async function contextOnly(query: RecommendationQuery, site?: string) {
  const ctx = createExecutionContext();
  const result = await getContextRecommendations(edgeEnv(site ? { SITE_ID: site } : {}), ctx, query);
  await waitOnExecutionContext(ctx);
  return result;
}

const ids = (items: readonly RecommendedItem[]) => items.map((item) => item.product_id);

beforeAll(async () => {
  const response = await publish('v1', 'fixture-v1');
  expect(response.status).toBe(200);
}, 120_000);

describe('getContextRecommendations', () => {
  it("a product page gets items like its product: the same list a first-time shopper's API call gets", async () => {
    const query: RecommendationQuery = { placement: 'product', productId: productId(4), limit: 4 };
    const result = await contextOnly(query);
    expect(result.model_version).toBe('fixture-v1');
    expect(result.source).toBe('similar');
    expect(result.items).toHaveLength(4);
    expect(ids(result.items)).not.toContain(productId(4));
    expect(categoryOfProduct(result.items[0]?.product_id ?? '')).toBe('mugs');
    // A new shopper (no cookie, no history) through the API: the list a page shows before consent is
    // the one it shows right after.
    const { body } = await recommend(`placement=product&product_id=${productId(4)}&limit=4`);
    expect(body.source).toBe('similar');
    expect(ids(result.items)).toEqual(body.items.map((item) => item.product_id));
  });

  it('home gets popularity, a cart its complements, a category only its items', async () => {
    const home = await contextOnly({ placement: 'home', limit: 3 });
    expect(home.source).toBe('popularity');
    expect(home.items[0]?.product_id).toBe(productId(0));
    const cart = await contextOnly({ placement: 'cart', productIds: [productId(1), productId(5)], limit: 4 });
    expect(cart.source).toBe('complements');
    expect(ids(cart.items).slice(0, 2).map(categoryOfProduct)).toEqual(['bags', 'bags']);
    const toys = await contextOnly({ placement: 'category', category: 'toys', limit: 5 });
    expect(toys.items).toHaveLength(5);
    expect(toys.items.every((item) => categoryOfProduct(item.product_id) === 'toys')).toBe(true);
  });

  it('answers a repeated query from the isolate memo: same items, a new recommendation id', async () => {
    const query: RecommendationQuery = { placement: 'product', productId: productId(9), limit: 5 };
    const first = await contextOnly(query);
    const second = await contextOnly(query);
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(true);
    expect(second.items).toEqual(first.items);
    expect(second.recommendation_id).not.toBe(first.recommendation_id);
    // The limit is part of the query (the family cap depends on it): a shorter list is its own entry.
    const shorter = await contextOnly({ ...query, limit: 2 });
    expect(shorter.cached).toBe(false);
    expect(shorter.items).toHaveLength(2);
  });

  it("a first-time shopper's answer says cached: true when the isolate memo served it, as tracking=off's does", async () => {
    await warmIsolate();
    // A query no other test makes, so the first call computes it in this isolate.
    const query = `placement=product&product_id=${productId(25)}&limit=3`;
    const first = await recommend(query);
    expect(first.body).toMatchObject({ source: 'similar', cached: false });
    // Cookie-less again: a new shopper, answered from the memo, which docs/api.md calls cached (false is
    // "computed for this request"; it said false here while tracking=off said true for the same list).
    const second = await recommend(query);
    expect(second.body).toMatchObject({ source: 'similar', cached: true });
    expect(second.body.items).toEqual(first.body.items);
    const untracked = await recommend(`${query}&tracking=off`);
    expect(untracked.body).toMatchObject({ source: 'similar', cached: true, items: first.body.items });
  });

  it('a memoized list cannot be changed by one caller for the next', async () => {
    const query: RecommendationQuery = { placement: 'product', productId: productId(13), limit: 3 };
    await contextOnly(query);
    const shared = await contextOnly(query);
    expect(shared.cached).toBe(true);
    expect(() => (shared.items as RecommendedItem[]).push(shared.items[0] as RecommendedItem)).toThrow(
      TypeError,
    );
    expect(() => {
      (shared.items[0] as RecommendedItem).title = '<script>';
    }).toThrow(TypeError);
    expect((await contextOnly(query)).items).toHaveLength(3);
  });

  it('reads and writes nothing in the cache', async () => {
    // A site of its own: every key the worker writes starts with `rx:{site}:` (worker/src/cache/keys.ts),
    // so only this prefix is looked at, not the keys other tests write into the shared redis-server.
    const site = `ctx-only-${crypto.randomUUID()}`;
    const redis = directRedis();
    expect(await redis.keys(`rx:${site}:*`)).toEqual([]);
    // Queries no other test makes: computed here (not from the isolate memo), so they would write.
    const product = await contextOnly({ placement: 'product', productId: productId(21), limit: 4 }, site);
    const home = await contextOnly({ placement: 'home', limit: 6 }, site);
    expect([product.cached, home.cached]).toEqual([false, false]);
    expect(await redis.keys(`rx:${site}:*`)).toEqual([]);
    // The control: the same query through the tracked API, for a shopper on the same site, is cached
    // under that prefix. So the empty list above is the context-only path writing nothing, not the site
    // being ignored or the writes landing somewhere this test does not look.
    const { body } = await recommend(
      `placement=product&product_id=${productId(21)}&limit=4`,
      { cookie: `rx_uid=${crypto.randomUUID()}` },
      { SITE_ID: site },
    );
    expect(body.source).toBe('similar');
    expect(await redis.keys(`rx:${site}:rec:*`)).toHaveLength(1);
  });

  it('a model that fails gives popularity, which is not memoized: the next request tries the model again', async () => {
    expect((await publish('failing', 'fixture-failing')).status).toBe(200);
    try {
      const query: RecommendationQuery = { placement: 'product', productId: productId(4), limit: 4 };
      const first = await contextOnly(query);
      expect(first).toMatchObject({ model_version: 'fixture-failing', source: 'popularity', cached: false });
      expect(ids(first.items)).not.toContain(productId(4));
      expect((await contextOnly(query)).cached).toBe(false);
    } finally {
      expect((await publish('v1', 'fixture-v1')).status).toBe(200);
    }
  });
});
