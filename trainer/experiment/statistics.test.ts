/**
 * Reference values from SciPy 1.17 (scipy.stats.norm, chi2_contingency without continuity
 * correction, binomtest), computed for these inputs.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../math/random';
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
  // Interval references: the score test's statistic from a numerical maximum of the likelihood under
  // each difference (or ratio), and its roots at ±1.959964 (SciPy's minimize_scalar and brentq).
  it('gives the difference, its score interval, the lift interval and the pooled z-test p-value', () => {
    const c = compareProportions({ n: 1000, converted: 120 }, { n: 1000, converted: 100 });
    expect(c?.difference).toBeCloseTo(0.02, 10);
    expect(c?.differenceInterval?.low).toBeCloseTo(-0.00746793849661339, 8);
    expect(c?.differenceInterval?.high).toBeCloseTo(0.04762475003034967, 8);
    expect(c?.lift).toBeCloseTo(0.2, 10);
    expect(c?.liftInterval?.low).toBeCloseTo(-0.06513159236911237, 8);
    expect(c?.liftInterval?.high).toBeCloseTo(0.5409149335090155, 8);
    // The same as the chi-square test of the 2×2 table.
    expect(c?.pValue).toBeCloseTo(0.15291778186394195, 6);
  });

  it('has a small p-value for a large difference and no lift when the holdout never converted', () => {
    const strong = compareProportions({ n: 270, converted: 60 }, { n: 30, converted: 15 });
    expect(strong?.pValue).toBeCloseTo(0.0008581206663936744, 6);
    expect(strong?.differenceInterval?.low).toBeCloseTo(-0.4537775922965624, 8);
    expect(strong?.differenceInterval?.high).toBeCloseTo(-0.1010936792125067, 8);
    expect(strong?.liftInterval?.low).toBeCloseTo(-0.6963267647436202, 8);
    expect(strong?.liftInterval?.high).toBeCloseTo(-0.2950535949553995, 8);
    const none = compareProportions({ n: 100, converted: 5 }, { n: 100, converted: 0 });
    expect(none?.lift).toBeNull();
    expect(none?.liftInterval).toBeNull();
    expect(none?.difference).toBeCloseTo(0.05, 10);
    expect(none?.differenceInterval?.low).toBeCloseTo(0.0120873630337236, 8);
    expect(none?.differenceInterval?.high).toBeCloseTo(0.11175046923192312, 8);
    // No conversion in treatment: the lift's lower bound is −100 %.
    const nothing = compareProportions({ n: 100, converted: 0 }, { n: 100, converted: 5 });
    expect(nothing?.liftInterval?.low).toBe(-1);
    expect(nothing?.liftInterval?.high).toBeCloseTo(-0.24824516647986228, 7);
  });

  it('has intervals that exclude 0 exactly when p < 0.05 (they invert the same test)', () => {
    const cases: Array<[number, number, number, number]> = [
      // Wald's interval was +0.06 to +1.94 pt here while p = 0.0738, and the lift's −4.3 % to +135 %.
      [9000, 270, 1000, 20],
      [9000, 300, 1000, 20],
      [9000, 265, 1000, 40],
      [1000, 120, 1000, 100],
      [270, 60, 30, 15],
      [100, 5, 100, 0],
      [900, 36, 100, 1],
      [90, 9, 10, 0],
      [4500, 180, 500, 12],
      [45_000, 1400, 5000, 130],
    ];
    for (const [nt, ct, nh, ch] of cases) {
      const c = compareProportions({ n: nt, converted: ct }, { n: nh, converted: ch });
      const label = `${ct}/${nt} against ${ch}/${nh}`;
      const significant = (c?.pValue ?? 1) < 0.05;
      const excludes = (i: { low: number; high: number } | null | undefined) =>
        i !== null && i !== undefined && (i.low > 0 || i.high < 0);
      expect(excludes(c?.differenceInterval), label).toBe(significant);
      if (c?.liftInterval) expect(excludes(c.liftInterval), label).toBe(significant);
    }
    const example = compareProportions({ n: 9000, converted: 270 }, { n: 1000, converted: 20 });
    expect(example?.pValue).toBeCloseTo(0.0738124, 6);
    expect(example?.differenceInterval?.low).toBeCloseTo(-0.0011348496018470774, 8);
    expect(example?.differenceInterval?.high).toBeCloseTo(0.01803568932541342, 8);
    expect(example?.liftInterval?.low).toBeCloseTo(-0.03751765612803093, 8);
    expect(example?.liftInterval?.high).toBeCloseTo(1.3458959508300103, 7);
  });

  it('cannot compare an empty arm, and gives no p-value without any variation', () => {
    expect(compareProportions({ n: 0, converted: 0 }, { n: 10, converted: 1 })).toBeNull();
    const flat = compareProportions({ n: 10, converted: 0 }, { n: 10, converted: 0 });
    expect(flat?.pValue).toBeNull();
    expect(flat?.differenceInterval).toBeNull();
    // Every shopper converted in both arms: no variation either.
    const all = compareProportions({ n: 10, converted: 10 }, { n: 20, converted: 20 });
    expect(all?.difference).toBe(0);
    expect(all?.lift).toBe(0);
    expect(all?.pValue).toBeNull();
    expect(all?.differenceInterval).toBeNull();
    expect(all?.liftInterval).toBeNull();
  });
});

describe('compareMeans', () => {
  /**
   * An arm of `n` shoppers, these of whom spent something (the others nothing), with its sums too (the
   * Welch test this replaced read them).
   */
  function arm(n: number, values: number[]) {
    const { sum, sumOfSquares } = sums(values);
    return { n, values, sum, sumOfSquares };
  }

  /** A seeded experiment without an effect: lognormal order values (σ 1.5), 2.5 % conversion. */
  function noEffect(random: Random, treatment: number, holdout: number) {
    const spend = (n: number) => {
      const values: number[] = [];
      for (let i = 0; i < n; i++) {
        if (random.float() >= 0.025) continue;
        const normal = Math.sqrt(-2 * Math.log(1 - random.float())) * Math.cos(2 * Math.PI * random.float());
        values.push(Math.round(20 * Math.exp(1.5 * normal) * 100) / 100);
      }
      return arm(n, values);
    };
    return [spend(treatment), spend(holdout)] as const;
  }

  it('does not find a difference that is not there with a small holdout and heavy-tailed spending', () => {
    // Welch's normal approximation said p < 0.05 in 14 % of such experiments, nearly all "treatment
    // wins": the small holdout's mean is low, and its variance with it, when it lacks a large order.
    const random = new Random(7);
    const runs = 1000;
    let treatmentWins = 0;
    let holdoutWins = 0;
    let disagreements = 0;
    for (let run = 0; run < runs; run++) {
      const [treatment, holdout] = noEffect(random, 9000, 1000);
      const c = compareMeans(treatment, holdout, 200);
      const significant = (c?.pValue ?? 1) < 0.05;
      if (significant && (c?.difference ?? 0) > 0) treatmentWins += 1;
      if (significant && (c?.difference ?? 0) < 0) holdoutWins += 1;
      const interval = c?.differenceInterval;
      const excludes = interval !== null && interval !== undefined && (interval.low > 0 || interval.high < 0);
      if (excludes !== significant) disagreements += 1;
    }
    expect((treatmentWins + holdoutWins) / runs).toBeLessThanOrEqual(0.07);
    expect(treatmentWins).toBeLessThanOrEqual(2 * holdoutWins + 10);
    // The interval inverts the test: it excludes 0 exactly when p < 0.05.
    expect(disagreements).toBe(0);
  });

  it('finds a real difference, with intervals around it that agree with the p-value', () => {
    const treatment = arm(
      2000,
      Array.from({ length: 400 }, (_, i) => 20 + (i % 7)),
    );
    const holdout = arm(
      2000,
      Array.from({ length: 300 }, (_, i) => 20 + (i % 7)),
    );
    const c = compareMeans(treatment, holdout);
    expect(c?.treatment).toBeCloseTo(treatment.sum / 2000, 10);
    expect(c?.holdout).toBeCloseTo(holdout.sum / 2000, 10);
    expect(c?.pValue).toBeLessThan(0.001);
    expect(c?.differenceInterval?.low).toBeGreaterThan(0);
    expect(c?.differenceInterval?.low).toBeLessThan(c?.difference ?? 0);
    expect(c?.differenceInterval?.high).toBeGreaterThan(c?.difference ?? 0);
    // The ratio is 400 ÷ 300 buyers' worth: the lift interval holds +33 %, and not 0.
    expect(c?.lift).toBeCloseTo(treatment.sum / holdout.sum - 1, 10);
    expect(c?.liftInterval?.low).toBeGreaterThan(0.1);
    expect(c?.liftInterval?.high).toBeLessThan(0.6);
  });

  it('gives the permutation p of five buyers against none: twice C(500,5) ÷ C(1000,5), about 0.062', () => {
    const c = compareMeans(arm(500, [100, 100, 100, 100, 100]), arm(500, []));
    expect(c?.pValue).toBeGreaterThan(0.045);
    expect(c?.pValue).toBeLessThan(0.08);
    expect(c?.lift).toBeNull();
    expect(c?.liftInterval).toBeNull();
  });

  it('gives no difference interval when an arm has no buyer (it was pinned at 0 exactly)', () => {
    // 12 buyers of 900 against none of 100: any shift of treatment's values makes the observed
    // labelling the most extreme, so p fell from 0.56 at 0 to 0.0002 beside it, and the interval was
    // +0.00 to +1.27; the mirror case (no buyer in treatment) pinned the upper bound at 0.
    const buyers = Array.from({ length: 12 }, (_, i) => 40 + ((i * 37) % 60));
    const pinned = (interval: { low: number; high: number } | null | undefined) =>
      interval !== null && interval !== undefined && (interval.low === 0 || interval.high === 0);
    const c = compareMeans(arm(900, buyers), arm(100, []));
    expect(c?.pValue).toBeGreaterThan(0.5);
    expect(c?.difference).toBeCloseTo(822 / 900, 10);
    expect(c?.differenceInterval === null || (c?.differenceInterval?.low ?? 0) < 0).toBe(true);
    expect(pinned(c?.differenceInterval)).toBe(false);
    const mirror = compareMeans(arm(100, []), arm(900, buyers));
    expect(mirror?.pValue).toBeGreaterThan(0.5);
    expect(mirror?.differenceInterval === null || (mirror?.differenceInterval?.high ?? 0) > 0).toBe(true);
    expect(pinned(mirror?.differenceInterval)).toBe(false);
    expect(mirror?.liftInterval).toBeNull();
    // One buyer against two, and all shoppers spending the same: no bound at 0 either.
    expect(pinned(compareMeans(arm(1000, [3, 5]), arm(100, []))?.differenceInterval)).toBe(false);
    expect(compareMeans(arm(3, [5, 5, 5]), arm(3, [1]))?.differenceInterval).toBeNull();
  });

  it('is seeded: the same values give the same figures, in any order', () => {
    const [treatment, holdout] = noEffect(new Random(3), 9000, 1000);
    const first = compareMeans(treatment, holdout);
    const reversed = compareMeans(
      { n: treatment.n, values: [...treatment.values].reverse() },
      { n: holdout.n, values: [...holdout.values].reverse() },
    );
    expect(reversed).toEqual(first);
    expect(first?.pValue).not.toBeNull();
  });

  it('needs two shoppers per arm and a holdout mean above 0 for a lift', () => {
    expect(compareMeans(arm(1, [1]), arm(2, [1, 2]))).toBeNull();
    const c = compareMeans(arm(3, [1, 2, 3]), arm(3, []));
    expect(c?.lift).toBeNull();
    expect(c?.difference).toBeCloseTo(2, 10);
    // No variation at all: nothing to test.
    const flat = compareMeans(arm(10, []), arm(10, []));
    expect(flat?.pValue).toBeNull();
    expect(flat?.differenceInterval).toBeNull();
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
    // At p = 1/2 the mirror outcome is exactly as likely (SciPy counts it, within a relative 1e-7):
    // 3 of 10: 2 · (1 + 10 + 45 + 120) ÷ 1024; 1 of 4: (1 + 4 + 4 + 1) ÷ 16.
    expect(binomialTestP(3, 10, 0.5)).toBeCloseTo(352 / 1024, 12);
    expect(binomialTestP(7, 10, 0.5)).toBeCloseTo(352 / 1024, 12);
    expect(binomialTestP(1, 4, 0.5)).toBeCloseTo(10 / 16, 12);
  });
});

describe('twoSidedP', () => {
  it('is accurate in the tails', () => {
    expect(twoSidedP(5) / 5.733031437583866e-7).toBeCloseTo(1, 5);
    expect(twoSidedP(-1.959963984540054)).toBeCloseTo(0.05, 7);
    expect(twoSidedP(1e-9)).toBeLessThanOrEqual(1);
  });
});
