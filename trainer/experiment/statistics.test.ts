/**
 * Reference values from SciPy 1.17 (scipy.stats.norm, chi2_contingency without continuity
 * correction, binomtest), computed for these inputs.
 */
import { describe, expect, it } from 'vitest';
import {
  type ArmSums,
  binomialTestP,
  compareMeans,
  compareProportions,
  sampleRatioCheck,
  twoSidedP,
} from './statistics';

function sums(values: number[]): ArmSums {
  return {
    n: values.length,
    sum: values.reduce((a, b) => a + b, 0),
    sumOfSquares: values.reduce((a, b) => a + b * b, 0),
  };
}

describe('compareProportions', () => {
  it('gives the difference, its Wald interval, the lift interval and the pooled z-test p-value', () => {
    const c = compareProportions({ n: 1000, converted: 120 }, { n: 1000, converted: 100 });
    expect(c?.difference).toBeCloseTo(0.02, 10);
    expect(c?.differenceInterval?.low).toBeCloseTo(-0.0074114819980199455, 8);
    expect(c?.differenceInterval?.high).toBeCloseTo(0.04741148199801992, 8);
    expect(c?.lift).toBeCloseTo(0.2, 10);
    expect(c?.liftInterval?.low).toBeCloseTo(-0.06589424893700624, 8);
    expect(c?.liftInterval?.high).toBeCloseTo(0.5415813448973079, 8);
    // The same as the chi-square test of the 2×2 table.
    expect(c?.pValue).toBeCloseTo(0.15291778186394195, 6);
  });

  it('has a small p-value for a large difference and no lift when the holdout never converted', () => {
    const strong = compareProportions({ n: 270, converted: 60 }, { n: 30, converted: 15 });
    expect(strong?.pValue).toBeCloseTo(0.0008581206663936744, 6);
    expect(strong?.liftInterval?.low).toBeCloseTo(-0.7084801910231804, 8);
    const none = compareProportions({ n: 100, converted: 5 }, { n: 100, converted: 0 });
    expect(none?.lift).toBeNull();
    expect(none?.liftInterval).toBeNull();
    expect(none?.difference).toBeCloseTo(0.05, 10);
  });

  it('cannot compare an empty arm, and gives no p-value without any variation', () => {
    expect(compareProportions({ n: 0, converted: 0 }, { n: 10, converted: 1 })).toBeNull();
    const flat = compareProportions({ n: 10, converted: 0 }, { n: 10, converted: 0 });
    expect(flat?.pValue).toBeNull();
    expect(flat?.differenceInterval).toBeNull();
  });
});

describe('compareMeans', () => {
  it("gives Welch's interval and p-value and the delta-method lift interval", () => {
    const treatment = sums([3, 0, 0, 7.5, 0, 12, 0, 0, 1, 0]);
    const holdout = sums([0, 0, 2, 0, 0, 0, 4.5, 0]);
    const c = compareMeans(treatment, holdout);
    expect(c?.treatment).toBeCloseTo(2.35, 10);
    expect(c?.holdout).toBeCloseTo(0.8125, 10);
    expect(c?.differenceInterval?.low).toBeCloseTo(-1.2764156432464513, 8);
    expect(c?.differenceInterval?.high).toBeCloseTo(4.351415643246451, 8);
    expect(c?.pValue).toBeCloseTo(0.2842108219669083, 6);
    expect(c?.lift).toBeCloseTo(1.8923076923076922, 8);
    expect(c?.liftInterval?.low).toBeCloseTo(-0.5123609340316752, 8);
    expect(c?.liftInterval?.high).toBeCloseTo(16.154990998046152, 6);
  });

  it('needs two shoppers per arm and a holdout mean above 0 for a lift', () => {
    expect(compareMeans(sums([1]), sums([1, 2]))).toBeNull();
    const c = compareMeans(sums([1, 2, 3]), sums([0, 0, 0]));
    expect(c?.lift).toBeNull();
    expect(c?.difference).toBeCloseTo(2, 10);
  });
});

describe('sampleRatioCheck', () => {
  it('tests the split against the configured holdout share (exact binomial test)', () => {
    // binomtest(120, 1000, 0.1); the chi-square approximation said 0.0350.
    expect(sampleRatioCheck(880, 120, 0.1)?.pValue).toBeCloseTo(0.039607719641630554, 8);
    expect(sampleRatioCheck(9000, 1000, 0.1)?.pValue).toBeCloseTo(1, 6);
    expect(sampleRatioCheck(880, 120, 0.1)?.observedHoldoutShare).toBeCloseTo(0.12, 10);
    expect(sampleRatioCheck(0, 0, 0.1)).toBeNull();
  });

  it('does not cry mismatch over a handful of shoppers (chi-square said 1.9e-4 and 1.8e-8)', () => {
    // 5 shoppers, 3 held out of an expected 10 %; 3 shoppers, 1 held out of an expected 1 %.
    expect(sampleRatioCheck(2, 3, 0.1)?.pValue).toBeCloseTo(0.00856, 10);
    expect(sampleRatioCheck(2, 1, 0.01)?.pValue).toBeCloseTo(0.029701, 10);
  });
});

describe('binomialTestP', () => {
  it("is SciPy's binomtest, two-sided, small and large", () => {
    const cases: Array<[number, number, number, number]> = [
      [0, 50, 0.1, 0.008373696343230033],
      [10, 50, 0.1, 0.029691710911911508],
      [5, 50, 0.1, 1],
      [950, 10_000, 0.1, 0.09890926297469976],
      [30, 1000, 0.01, 2.059988850971949e-7],
      [0, 100, 0.01, 0.6302703623502731],
      [99_000, 1_000_000, 0.1, 0.0008478796812520478],
      [2, 4, 0.5, 1],
    ];
    for (const [k, n, p, scipy] of cases) expect(binomialTestP(k, n, p) / scipy).toBeCloseTo(1, 7);
    expect(binomialTestP(0, 1_000_000, 0.1)).toBe(0);
  });
});

describe('twoSidedP', () => {
  it('is accurate in the tails', () => {
    expect(twoSidedP(5) / 5.733031437583866e-7).toBeCloseTo(1, 5);
    expect(twoSidedP(-1.959963984540054)).toBeCloseTo(0.05, 7);
  });
});
