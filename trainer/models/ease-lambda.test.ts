import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { tasteGroupShoppers } from '../test-support/taste-groups';
import { selectEaseLambda } from './ease-lambda';
import { scoredUsers, splitValidation } from './validation';

const shoppers = (users: number, noise: number) => tasteGroupShoppers(users, noise, 8);

/** `users` shoppers with 5 items each of 12. */
const fiveEach = (users: number): Interaction[] =>
  Array.from({ length: users * 5 }, (_, n) => ({
    user: `u${Math.floor(n / 5)}`,
    item: `i${(Math.floor(n / 5) * 3 + (n % 5)) % 12}`,
    time: n,
    weight: 1,
    purchase: true,
    quantity: 1,
  }));

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
    expect(lowRank.scores.map((s) => s.lambda)).toEqual([1, 10, 100, 10_000]);
    for (const [i, s] of lowRank.scores.entries()) expect(s.ndcg).toBeCloseTo(dense.scores[i]?.ndcg ?? 0, 3);
    expect(lowRank.lambda).toBe(dense.lambda);
  });

  it('falls back to the middle of the grid when no user can be held out', async () => {
    const { matrix } = aggregate(shoppers(3, 0).filter((r) => r.item < 'i2'));
    expect(await selectEaseLambda(matrix, { grid: [1, 10, 100] })).toEqual({ lambda: 10, scores: [] });
  });

  it('falls back to the middle of the grid when no validation user had an item held out', async () => {
    // 10 shoppers with 5 items each: seed 42 makes one validation user, and holds out none of its
    // items (each is held out at random). Every λ scored 0 on nobody, and the first of them was kept.
    const { matrix } = aggregate(fiveEach(10));
    const { validation } = splitValidation(matrix, 0.1, seededRandom(42));
    expect(validation.foldIn.rows).toBe(1);
    expect(scoredUsers(validation)).toBe(0);
    expect(await selectEaseLambda(matrix, { grid: [1, 10, 100] })).toEqual({ lambda: 10, scores: [] });
  });
});
