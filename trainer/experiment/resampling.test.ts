import { describe, expect, it } from 'vitest';
import { Random } from '../math/random';
import { hypergeometric, permutationTest, variance, welchT } from './resampling';

describe('Random', () => {
  it('is the same stream for the same seed, and another for the next seed', () => {
    const draw = (seed: number) => {
      const random = new Random(seed);
      return Array.from({ length: 5 }, () => random.next());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(2)).not.toEqual(draw(1));
    const random = new Random(9);
    for (let i = 0; i < 1000; i++) {
      const u = random.float();
      expect(u >= 0 && u < 1).toBe(true);
      expect(random.below(7)).toBeLessThan(7);
    }
  });
});

describe('hypergeometric', () => {
  it('has the mean and variance of the number of buyers among shoppers drawn without replacement', () => {
    // 10,000 shoppers, 250 buyers, 1,000 drawn: mean 25, variance 25 · 0.975 · 9,000 ÷ 9,999.
    const draw = hypergeometric(10_000, 250, 1000);
    const random = new Random(5);
    let sum = 0;
    let squares = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = draw(random);
      sum += x;
      squares += x * x;
    }
    const mean = sum / n;
    expect(mean).toBeCloseTo(25, 1);
    expect(squares / n - mean * mean).toBeCloseTo((25 * 0.975 * 9000) / 9999, 0);
    // Every buyer drawn, or none: the support's ends.
    expect(hypergeometric(10, 10, 4)(random)).toBe(4);
    expect(hypergeometric(10, 0, 4)(random)).toBe(0);
  });
});

describe('welchT', () => {
  it("is Welch's t from sums: unpooled, each arm's unbiased variance over its own n", () => {
    // a = 1, 2, 3: mean 2, variance 1; b = 0, 0, 0, 4: mean 1, variance (16 − 4²/4) ÷ 3 = 4.
    expect(variance(3, 6, 14)).toBeCloseTo(1, 12);
    expect(variance(4, 4, 16)).toBeCloseTo(4, 12);
    // t = (2 − 1) ÷ √(1/3 + 4/4) = √3 ÷ 2 (a pooled variance would give 0.809).
    expect(welchT(3, 6, 14, 4, 4, 16)).toBeCloseTo(Math.sqrt(3) / 2, 12);
  });
});

describe('permutationTest', () => {
  it('gives every relabelling equal chance: all five buyers in one of two equal arms, p = 2 · C(500,5) ÷ C(1000,5)', () => {
    const p = (seed: number) =>
      permutationTest({ n: 500, values: [7, 7, 7, 7, 7] }, { n: 500, values: [] }, 20_000, seed)?.pValue ?? 0;
    const mean = [1, 2, 3, 4, 5].reduce((total, seed) => total + p(seed), 0) / 5;
    expect(mean).toBeCloseTo((2 * (500 * 499 * 498 * 497 * 496)) / (1000 * 999 * 998 * 997 * 996), 2);
  });

  it('gives the same figures whatever order the buyers come in (the order events were read in)', () => {
    const treatment = [12.5, 3, 80, 7.25, 19, 44, 5.5, 230, 9, 61];
    const holdout = [15, 2.5, 33, 120, 8];
    const run = (a: number[], b: number[]) =>
      permutationTest({ n: 900, values: a }, { n: 100, values: b }, 2_000, 7);
    const forward = run(treatment, holdout);
    expect(forward?.pValue).toBeGreaterThan(0);
    expect(run([...treatment].reverse(), [...holdout].reverse())).toEqual(forward);
    expect(
      run(
        [...treatment].sort((x, y) => y - x),
        [8, 120, 2.5, 33, 15],
      ),
    ).toEqual(forward);
  });

  it('never gives p = 0: a labelling no relabelling reaches counts itself, p = 2 · 1 ÷ (1 + permutations)', () => {
    // All 50 buyers (distinct values) in a, none of b's 50 shoppers bought: only the observed split
    // (1 in C(100, 50), about 1e-29) is as extreme, so no relabelling of 1,000 is; the one-sided p is
    // (1 + 0) ÷ 1,001 and the two-sided twice that.
    const a = { n: 50, values: Array.from({ length: 50 }, (_, i) => 100 + i) };
    const result = permutationTest(a, { n: 50, values: [] }, 1000, 11);
    expect(result?.pValue).toBeCloseTo(2 / 1001, 12);
  });

  it('is null when neither arm varies', () => {
    expect(permutationTest({ n: 10, values: [] }, { n: 10, values: [] }, 100, 1)).toBeNull();
  });
});
