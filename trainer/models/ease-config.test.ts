import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { denseEaseFromGram, lowRankEaseFromEigenpairs } from './ease';
import { decayWeights, easeBasis, easeFromBasis, popularityScale, scaleItemScores } from './ease-config';
import { itemPopularity } from './popularity';
import { referenceScores } from './reference';

const DAY = 86_400_000;
const buy = (user: string, item: string, day: number): Interaction => ({
  user,
  item,
  time: day * DAY,
  weight: 1,
  purchase: true,
  quantity: 1,
});

/** 60 shoppers over 24 items, purchases spread over 120 days. */
function shoppers(): Interaction[] {
  const random = seededRandom(11);
  const rows: Interaction[] = [];
  for (let u = 0; u < 60; u++)
    for (let i = 0; i < 24; i++)
      if (random() < (i % 3 === u % 3 ? 0.5 : 0.1))
        rows.push(buy(`u${u}`, `i${i}`, Math.floor(random() * 120)));
  return rows;
}

describe('decayWeights', () => {
  it("weighs each customer × item entry 2^(−age / half-life) by the customer's latest interaction with it", () => {
    const rows = [
      buy('a', 'x', 0),
      buy('a', 'x', 20),
      buy('a', 'y', 10),
      buy('b', 'x', 30),
      buy('b', 'y', 31),
    ];
    const m = aggregate(rows);
    const now = 30 * DAY;
    const w = decayWeights(m, rows, 10, now);
    const at = (user: string, item: string) => {
      const r = m.users.indexOf(user);
      const c = m.itemIndex.get(item) ?? -1;
      for (let p = w.rowPtr[r] ?? 0; p < (w.rowPtr[r + 1] ?? 0); p++)
        if (w.colIdx[p] === c) return w.values[p];
      return undefined;
    };
    // a × x: latest on day 20 (not day 0, not summed), 10 days old → ½.
    expect(at('a', 'x')).toBeCloseTo(0.5, 6);
    expect(at('a', 'y')).toBeCloseTo(0.25, 6);
    expect(at('b', 'x')).toBeCloseTo(1, 6);
    // After `now` (ages are from the cut-off): no boost above 1.
    expect(at('b', 'y')).toBeCloseTo(1, 6);
    // No half-life: the binarised fit, every stored entry 1 whatever its confidence.
    expect([...decayWeights(m, rows, null, now).values]).toEqual([1, 1, 1, 1]);
    expect(() => decayWeights(m, rows, 0, now)).toThrow(/half-life/);
  });

  it('ages an entry by the latest interaction, never by a later removal from the cart (no signal)', () => {
    const rows = [buy('a', 'x', 0), buy('a', 'y', 0)];
    const removal: Interaction = { ...buy('a', 'x', 20), weight: 0, purchase: false, activity: 'removed' };
    const m = aggregate([...rows, removal]);
    // Day 20: the removal would have made x 20 days fresher than the purchase it took out.
    expect([...decayWeights(m, [...rows, removal], 10, 20 * DAY).values]).toEqual([0.25, 0.25]);
  });

  it('fits EASE on the faded entries: the Gram matrix is of the weights, dense and low rank alike', () => {
    const rows = shoppers();
    const m = aggregate(rows);
    const w = decayWeights(m, rows, 30, 120 * DAY);
    const n = m.items.length;
    // Textbook: G = WᵀW of the weights, exact EASE from it.
    const gram = new Float64Array(n * n);
    for (let r = 0; r < w.rows; r++)
      for (let p = w.rowPtr[r] ?? 0; p < (w.rowPtr[r + 1] ?? 0); p++)
        for (let q = w.rowPtr[r] ?? 0; q < (w.rowPtr[r + 1] ?? 0); q++) {
          const at = (w.colIdx[p] ?? 0) * n + (w.colIdx[q] ?? 0);
          gram[at] = (gram[at] ?? 0) + (w.values[p] ?? 0) * (w.values[q] ?? 0);
        }
    const expected = denseEaseFromGram(gram, n, 5);
    const dense = easeFromBasis(easeBasis(w), 5, [], 0);
    expect(dense.kind).toBe('dense');
    if (dense.kind === 'dense')
      for (let i = 0; i < n * n; i++) expect(dense.matrix[i]).toBeCloseTo(expected[i] ?? 0, 5);
    // Faded differs from the binarised fit (what the old trainer shipped).
    const binary = easeFromBasis(easeBasis(decayWeights(m, rows, null, 0)), 5, [], 0);
    if (binary.kind === 'dense' && dense.kind === 'dense')
      expect(Math.max(...dense.matrix.map((v, i) => Math.abs(v - (binary.matrix[i] ?? 0))))).toBeGreaterThan(
        0.01,
      );
    // Low rank at full rank reproduces the exact faded scores on items outside the history.
    const basis = easeBasis(w, { maxDenseItems: 0, rank: n, iterations: 30 });
    expect(basis.kind).toBe('eigen');
    const lowRank = easeFromBasis(basis, 5, [], 0);
    const history = new Float32Array(n);
    history[0] = 1;
    history[4] = 1;
    const a = referenceScores(lowRank, history);
    const b = referenceScores(dense, history);
    for (let i = 0; i < n; i++) if (history[i] === 0) expect(a[i]).toBeCloseTo(b[i] ?? 0, 4);
  });
});

describe('popularity scale folded into B', () => {
  it('scores equal the unscaled scores × popularity^−e, dense and factorised, diag term included', () => {
    const rows = shoppers();
    const m = aggregate(rows);
    const n = m.items.length;
    const pop = itemPopularity(m.matrix);
    const scale = popularityScale(pop, 0.25);
    expect(scale[0]).toBeCloseTo(Math.max(pop[0] ?? 0, 1) ** -0.25, 12);
    expect(popularityScale([0, 16], 0.25)).toEqual(Float64Array.from([1, 0.5]));
    const w = decayWeights(m, rows, null, 0);
    const bases = [easeBasis(w), easeBasis(w, { maxDenseItems: 0, rank: 8 })];
    const history = new Float32Array(n);
    for (const i of [1, 2, 7]) history[i] = 1 + i / 10;
    for (const basis of bases) {
      const plain = easeFromBasis(basis, 30, pop, 0);
      const scaled = easeFromBasis(basis, 30, pop, 0.25);
      expect(scaled.kind).toBe(plain.kind);
      const a = referenceScores(plain, history);
      const b = referenceScores(scaled, history);
      for (let i = 0; i < n; i++) expect(b[i]).toBeCloseTo((a[i] ?? 0) * (scale[i] ?? 0), 5);
      // A copy: the unscaled body is untouched.
      const again = referenceScores(easeFromBasis(basis, 30, pop, 0), history);
      for (let i = 0; i < n; i++) expect(again[i]).toBeCloseTo(a[i] ?? 0, 9);
    }
    // The low-rank body's self-score term is scaled with it (factorizedDiagonal reads U and V).
    const lr = lowRankEaseFromEigenpairs(
      (bases[1] as Extract<(typeof bases)[1], { kind: 'eigen' }>).eigen,
      30,
    );
    const scaledLr = scaleItemScores(lr, scale);
    const own = new Float32Array(n);
    own[3] = 1;
    const s = referenceScores(scaledLr, own);
    expect(s[3]).toBeCloseTo((referenceScores(lr, own)[3] ?? 0) * (scale[3] ?? 0), 6);
  });
});
