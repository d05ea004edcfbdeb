import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { selectEaseLambda } from './ease-lambda';

/** 4 taste groups; `noise` is how often a shopper buys outside their group. */
function shoppers(users: number, noise: number): Interaction[] {
  const random = seededRandom(8);
  const rows: Interaction[] = [];
  for (let u = 0; u < users; u++)
    for (let i = 0; i < 40; i++)
      if (random() < (i % 4 === u % 4 ? 0.5 : noise))
        rows.push({ user: `u${u}`, item: `i${i}`, time: 0, weight: 1, purchase: true, quantity: 1 });
  return rows;
}

describe('EASE λ selection on held-out users', () => {
  it('scores every grid value and returns the best, the same for the dense and low-rank forms', async () => {
    const { matrix } = aggregate(shoppers(300, 0.05));
    const dense = await selectEaseLambda(matrix, { grid: [1, 10, 100, 10_000] });
    expect(dense.scores.map((s) => s.lambda)).toEqual([1, 10, 100, 10_000]);
    const best = Math.max(...dense.scores.map((s) => s.ndcg));
    expect(dense.scores.find((s) => s.lambda === dense.lambda)?.ndcg).toBe(best);
    // The structure is learnable: the winner clearly beats the most over-regularised λ.
    expect(best).toBeGreaterThan((dense.scores[3]?.ndcg ?? 1) + 0.05);
    const lowRank = await selectEaseLambda(matrix, {
      grid: [1, 10, 100, 10_000],
      maxDenseItems: 0,
      rank: 40,
      iterations: 8,
    });
    for (const [i, s] of lowRank.scores.entries()) expect(s.ndcg).toBeCloseTo(dense.scores[i]?.ndcg ?? 0, 3);
  });

  it('falls back to the middle of the grid when no user can be held out', async () => {
    const { matrix } = aggregate(shoppers(3, 0).filter((r) => r.item < 'i2'));
    expect(await selectEaseLambda(matrix, { grid: [1, 10, 100] })).toEqual({ lambda: 10, scores: [] });
  });
});
