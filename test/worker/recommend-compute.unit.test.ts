/**
 * Ranking rules of `computeRecommendations` over a model's top-k: the model here is a fixed
 * score table (the unit under test is the ranking, not inference; inference has its own tests).
 */
import { describe, expect, it } from 'vitest';
import type { CatalogueItem, ModelEntry } from '../../contracts/manifest';
import type { LoadedBundle } from '../../worker/src/models/bundle';
import type { Recommender } from '../../worker/src/models/recommender';
import { computeRecommendations } from '../../worker/src/recommend/compute';

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

/** A `personal` model that returns `scores` (per catalogue index) sorted, as the ONNX graphs do. */
function bundleWithScores(scores: number[]): LoadedBundle {
  const model: Recommender = {
    entry: { name: 'table', role: 'personal' } as ModelEntry,
    async run(_history, mask) {
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
    models: { personal: model },
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
});
