/**
 * What the mask keeps out stays out: unavailable items, even the most popular, and (enforced on the
 * model's answer too, not only handed to the graph) the page's product and bought items from a graph
 * that ignores the mask (a broken or hand-made one).
 */
import { describe, expect, it } from 'vitest';
import type { CatalogueItem, ModelEntry } from '../../contracts/manifest';
import type { LoadedBundle } from '../../worker/src/models/bundle';
import type { Recommender } from '../../worker/src/models/recommender';
import { computeRecommendations } from '../../worker/src/recommend/compute';

const ITEMS: CatalogueItem[] = ['A', 'B', 'C'].map((id, i) => ({
  product_id: id,
  title: id,
  url: `/p/${id}`,
  image: `/i/${id}`,
  price: 1,
  currency: 'GBP',
  category: `family-${i}`,
  available: true,
  popularity: 3 - i,
}));

describe('computeRecommendations with a graph that ignores the mask', () => {
  it('leaves out what the mask excludes: the product on the page and what was bought', async () => {
    const model: Recommender = {
      entry: { name: 'unmasked', role: 'similar' } as ModelEntry,
      // Scores every item as strong evidence, masked or not.
      run: async () =>
        ({ indices: [0, 1, 2], scores: Float32Array.from([0.9, 0.8, 0.7]) }) as unknown as Awaited<
          ReturnType<Recommender['run']>
        >,
      async release() {},
    };
    const bundle = {
      version: 'test',
      items: ITEMS,
      byId: new Map(ITEMS.map((item, index) => [item.product_id, index])),
      models: { similar: model },
      popularityOrder: Int32Array.from([0, 1, 2]),
    } as unknown as LoadedBundle;
    const { source, items } = await computeRecommendations(
      bundle,
      { placement: 'product', productId: 'A', limit: 3 },
      { activity: [], purchases: ['B'], identified: false },
      true,
    );
    expect(source).toBe('similar');
    expect(items.map((item) => item.product_id)).toEqual(['C']);
  });
});

describe('computeRecommendations by popularity', () => {
  it('never shows an unavailable item, however popular', async () => {
    const items = ITEMS.map((item, index) => (index === 0 ? { ...item, available: false } : item));
    const bundle = {
      version: 'test',
      items,
      byId: new Map(items.map((item, index) => [item.product_id, index])),
      popularityOrder: Int32Array.from([0, 1, 2]),
    } as unknown as LoadedBundle;
    const ranked = await computeRecommendations(
      bundle,
      { placement: 'home', limit: 3 },
      { activity: [], purchases: [], identified: false },
      true,
    );
    expect(ranked.source).toBe('popularity');
    expect(ranked.items.map((item) => item.product_id)).toEqual(['B', 'C']);
  });
});
