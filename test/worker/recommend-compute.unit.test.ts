/**
 * Ranking rules of `computeRecommendations` over a model's top-k: the model here is a fixed
 * score table (the unit under test is the ranking, not inference; inference has its own tests).
 */
import { describe, expect, it } from 'vitest';
import type { CatalogueItem, ModelEntry } from '../../contracts/manifest';
import type { LoadedBundle } from '../../worker/src/models/bundle';
import type { Recommender } from '../../worker/src/models/recommender';
import { computeRecommendations } from '../../worker/src/recommend/compute';
import { computeWithFallback } from '../../worker/src/recommend/model-run';

const ITEMS: CatalogueItem[] = ['A', 'B', 'C', 'D', 'E', 'F'].map((id, i) => ({
  product_id: id,
  title: `Item ${id}`,
  url: `/products/${id}`,
  image: `/images/${id}.svg`,
  price: 1 + i,
  currency: 'GBP',
  category: `family-${i}`,
  available: true,
  popularity: [1, 2, 3, 50, 40, 30][i] ?? 0,
}));

/**
 * A model of `role` that returns `scores` (per catalogue index) sorted, as the ONNX graphs do, and
 * keeps the history vectors it was given in `inputs`.
 */
function bundleWithScores(
  scores: number[],
  role: ModelEntry['role'] = 'personal',
  inputs: Float32Array[] = [],
): LoadedBundle {
  const model: Recommender = {
    entry: { name: 'table', role } as ModelEntry,
    async run(history, mask) {
      inputs.push(Float32Array.from(history));
      const ranked = scores
        .map((score, index) => ({ index, score: score + ((mask[index] ?? 0) - 1) * 1e9 }))
        .sort((a, b) => b.score - a.score);
      return {
        scores: Float32Array.from(ranked.map((r) => r.score)),
        indices: ranked.map((r) => r.index),
      } as unknown as Awaited<ReturnType<Recommender['run']>>;
    },
    async release() {},
  };
  const popularityOrder = Int32Array.from(
    ITEMS.map((item, index) => ({ index, popularity: item.popularity }))
      .sort((a, b) => b.popularity - a.popularity)
      .map((entry) => entry.index),
  );
  return {
    version: 'test',
    origin: 'builtin',
    items: ITEMS,
    byId: new Map(ITEMS.map((item, index) => [item.product_id, index])),
    models: { [role]: model },
    popularityOrder,
    loadedAt: 0,
  } as unknown as LoadedBundle;
}

const SIGNALS = {
  activity: [{ product_id: 'A', kind: 'view' as const, at: 0 }],
  purchases: [],
  identified: true,
};

describe('computeRecommendations', () => {
  it('ranks by model score, and fills items the model gives no evidence for (score 0) by popularity', async () => {
    // B and C have evidence; D, E, F score exactly 0 and must come in popularity order (D 50, E 40, F 30),
    // not in catalogue order as a tie of zeros would.
    const bundle = bundleWithScores([0, 0.9, 0.4, 0, 0, 0]);
    const { source, items } = await computeRecommendations(
      bundle,
      { placement: 'home', limit: 5 },
      SIGNALS,
      true,
    );
    expect(source).toBe('personal');
    expect(items.map((item) => item.product_id)).toEqual(['B', 'C', 'D', 'E', 'F']);
  });

  it('keeps negative model scores (evidence against is still a ranking) ahead of popularity fill', async () => {
    const bundle = bundleWithScores([0, -0.2, -0.1, 0, 0, 0]);
    const { items } = await computeRecommendations(bundle, { placement: 'home', limit: 3 }, SIGNALS, true);
    expect(items.map((item) => item.product_id)).toEqual(['C', 'B', 'D']);
  });

  it('a cart slot without product_ids takes the cart from activity and never offers what is in it', async () => {
    // Newest first: A was added, then removed; B and C are in the cart; D was bought, which ended the
    // cart E was in. The complements model scores the cart's own items highest (a cart's items
    // complement each other), so only the mask keeps them out.
    const activity = [
      { product_id: 'A', kind: 'removed' as const, at: 6 },
      { product_id: 'B', kind: 'cart' as const, at: 5 },
      { product_id: 'A', kind: 'cart' as const, at: 4 },
      { product_id: 'C', kind: 'cart' as const, at: 3 },
      { product_id: 'D', kind: 'purchase' as const, at: 2 },
      { product_id: 'E', kind: 'cart' as const, at: 1 },
    ];
    const inputs: Float32Array[] = [];
    const bundle = bundleWithScores([0.5, 0.9, 0.8, 0.1, 0.3, 0.2], 'complements', inputs);
    const { source, items } = await computeRecommendations(
      bundle,
      { placement: 'cart', limit: 3 },
      { activity, purchases: [], identified: false },
      true,
    );
    expect(source).toBe('complements');
    expect(items.map((item) => item.product_id)).toEqual(['A', 'E', 'F']);
    // The model was asked about the cart B and C (context weight 2), not the removed A or the bought-with E.
    expect(Array.from(inputs[0] ?? [])).toEqual([0, 2, 2, 0, 0, 0]);
  });

  it('no slot offers what is in the cart: home and product pages leave out the cart from activity', async () => {
    // B is in the cart (A was added and removed again); the models score it highest, as a cart item
    // weighs most in the history. D, the most popular, is the popularity fill.
    const activity = [
      { product_id: 'A', kind: 'removed' as const, at: 3 },
      { product_id: 'B', kind: 'cart' as const, at: 2 },
      { product_id: 'A', kind: 'cart' as const, at: 1 },
    ];
    const signals = { activity, purchases: [], identified: true };
    const home = await computeRecommendations(
      bundleWithScores([0.1, 0.9, 0.4, 0, 0, 0]),
      { placement: 'home', limit: 3 },
      signals,
      true,
    );
    expect(home.items.map((item) => item.product_id)).toEqual(['C', 'A', 'D']);
    const product = await computeRecommendations(
      bundleWithScores([0.1, 0.9, 0.4, 0, 0, 0], 'similar'),
      { placement: 'product', productId: 'C', limit: 3 },
      signals,
      true,
    );
    expect(product.items.map((item) => item.product_id)).toEqual(['A', 'D', 'E']);
    // The holdout ignores the shopper's activity: the cart is not known to it.
    const holdout = await computeRecommendations(
      bundleWithScores([0.1, 0.9, 0.4, 0, 0, 0]),
      { placement: 'home', limit: 3 },
      signals,
      false,
    );
    expect(holdout.items.map((item) => item.product_id)).toEqual(['D', 'E', 'F']);
  });

  it('leaves out scores that are not finite (a broken model) instead of answering score null', async () => {
    const bundle = bundleWithScores([Number.POSITIVE_INFINITY, 0.9, 0, 0, 0, 0]);
    const { items } = await computeRecommendations(bundle, { placement: 'home', limit: 3 }, SIGNALS, true);
    expect(items.map((item) => item.product_id)).toEqual(['B', 'D', 'E']);
    for (const item of items) expect(Number.isFinite(item.score)).toBe(true);
  });

  it('an index a broken graph repeats is shown once', async () => {
    const bundle = bundleWithScores([0, 0.9, 0.4, 0, 0, 0], 'similar');
    const similar = bundle.models.similar as Recommender;
    similar.run = async () =>
      ({ indices: [1, 1, 2], scores: Float32Array.from([0.9, 0.9, 0.5]) }) as unknown as Awaited<
        ReturnType<Recommender['run']>
      >;
    const { items } = await computeRecommendations(
      bundle,
      { placement: 'product', productId: 'A', limit: 5 },
      { activity: [], purchases: [], identified: false },
      true,
    );
    expect(items.map((item) => item.product_id)).toEqual(['B', 'C', 'D', 'E', 'F']);
  });
});

describe('computeWithFallback', () => {
  const failing = (role: ModelEntry['role']) => {
    const bundle = bundleWithScores([0, 0.9, 0.4, 0, 0, 0], role);
    (bundle.models[role] as Recommender).run = async () => {
      throw new Error('the graph failed');
    };
    return bundle;
  };

  it('when the model fails, popularity keeps the exclusions: items bought, the cart from activity', async () => {
    const home = await computeWithFallback(
      failing('personal'),
      { placement: 'home', limit: 5 },
      { ...SIGNALS, purchases: ['D'] },
      true,
    );
    expect(home).toMatchObject({ source: 'popularity', fallback: true });
    expect(home.items.map((item) => item.product_id)).toEqual(['E', 'F', 'C', 'B', 'A']);
    const cart = await computeWithFallback(
      failing('complements'),
      { placement: 'cart', limit: 5 },
      { activity: [{ product_id: 'E', kind: 'cart', at: 1 }], purchases: ['D'], identified: false },
      true,
    );
    expect(cart.items.map((item) => item.product_id)).toEqual(['F', 'C', 'B', 'A']);
  });
});
