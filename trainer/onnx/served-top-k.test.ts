import { describe, expect, it } from 'vitest';
import { popularityOrder } from '../../contracts/manifest';
import { servedTopK } from './served-top-k';

describe('servedTopK', () => {
  // Six items; popularity: 4 > 2 > 0 = 5 > 1 > 3 (ties in catalogue order).
  const byPopularity = popularityOrder([5, 2, 8, 0, 9, 5]);

  it('orders by popularity, ties in catalogue order', () => {
    expect([...byPopularity]).toEqual([4, 2, 0, 5, 1, 3]);
  });

  it("keeps the model's evidence in its order, then fills with the most popular allowed items", () => {
    // The graph's top-5: two items with evidence (one negative), then zeros in catalogue order.
    const served = servedTopK([1, 3, 0, 2, 5], [0.7, -0.2, 0, 0, 0], 4, [1, 1, 1, 1, 0, 1], byPopularity);
    // Item 4, the best seller, is masked (already bought): 2 and 0 fill, never 4.
    expect(served).toEqual([
      { index: 1, score: 0.7 },
      { index: 3, score: -0.2 },
      { index: 2, score: 0 },
      { index: 0, score: 0 },
    ]);
  });

  it('a history with no evidence at all gets the best sellers, not the first catalogue items', () => {
    const served = servedTopK([0, 1, 2], [0, 0, 0], 3, [1, 1, 1, 1, 1, 1], byPopularity);
    expect(served.map((item) => item.index)).toEqual([4, 2, 0]);
  });

  it('never serves a masked item, a non-finite score, or more items than are allowed', () => {
    const masked = -1e9;
    const served = servedTopK(
      [2, 4, 0, 1],
      [Number.NaN, Number.POSITIVE_INFINITY, 0.5, masked],
      6,
      [1, 0, 1, 0, 1, 0],
      byPopularity,
    );
    // Allowed: 0, 2 and 4. 0 has evidence; 2 and 4 (broken scores) come back as best sellers only.
    expect(served).toEqual([
      { index: 0, score: 0.5 },
      { index: 4, score: 0 },
      { index: 2, score: 0 },
    ]);
  });
});

describe('servedTopK with product families', () => {
  const byPopularity = popularityOrder([5, 2, 8, 0, 9, 5]);
  const families = ['mugs', 'mugs', 'mugs', 'bags', 'mugs', 'bags'].map((category) => ({ category }));

  it("caps one family at 40 % of the row, as the worker's diversify does", () => {
    // The model ranks four mugs first; a row of 4 takes at most 2 (familyCap(4)), then the bags.
    const served = servedTopK(
      [0, 1, 2, 3],
      [0.9, 0.8, 0.7, 0.6],
      4,
      [1, 1, 1, 1, 1, 1],
      byPopularity,
      families,
    );
    expect(served).toEqual([
      { index: 0, score: 0.9 },
      { index: 1, score: 0.8 },
      { index: 3, score: 0.6 },
      // The other bag comes from popularity, ahead of the model's third mug.
      { index: 5, score: 0 },
    ]);
  });

  it('fills the row with the skipped items in their order when the other families run out', () => {
    const served = servedTopK([0, 1, 2], [0.9, 0.8, 0.7], 4, [1, 1, 1, 0, 1, 0], byPopularity, families);
    // Only mugs are allowed: 0 and 1, then the skipped 2 and 4 (4 as a best seller) in order.
    expect(served.map((item) => item.index)).toEqual([0, 1, 2, 4]);
  });

  it('one family everywhere (a catalogue without families) leaves the list as it was', () => {
    const same = families.map(() => ({ category: 'other' }));
    const args = [[0, 1, 2, 3], [0.9, 0.8, 0.7, 0.6], 4, [1, 1, 1, 1, 1, 1], byPopularity] as const;
    expect(servedTopK(...args, same)).toEqual(servedTopK(...args));
  });
});
