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
