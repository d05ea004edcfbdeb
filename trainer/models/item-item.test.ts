import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { symmetricEigen } from '../math/linalg';
import { trainItemItem } from './item-item';
import { referenceScores } from './reference';

function baskets(): Interaction[] {
  const rows: Interaction[] = [];
  for (let u = 0; u < 60; u++) {
    const base = (u % 6) * 4;
    for (const offset of [0, 1, 2, (u * 7) % 24]) {
      rows.push({
        user: `u${u}`,
        item: `i${(base + offset) % 24}`,
        time: 0,
        weight: 1,
        purchase: true,
        quantity: 1,
      });
    }
  }
  return rows;
}

const top = (s: Float64Array, exclude: number[]) =>
  Array.from(s)
    .map((v, i) => [v, i] as const)
    .filter(([, i]) => !exclude.includes(i))
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, 5)
    .map(([, i]) => i);

describe('item-item cosine', () => {
  const m = aggregate(baskets());

  it('dense: items bought by the same users are the nearest neighbours', () => {
    const body = trainItemItem(m.matrix);
    expect(body.kind).toBe('dense');
    const h = new Float32Array(m.items.length);
    const i0 = m.itemIndex.get('i0') ?? -1;
    h[i0] = 1;
    const nearest = top(referenceScores(body, h), [i0])
      .slice(0, 2)
      .map((i) => m.items[i]);
    expect(new Set(nearest)).toEqual(new Set(['i1', 'i2']));
  });

  it('factorised at full rank reproduces the dense scores (the diagonal aside)', () => {
    const dense = trainItemItem(m.matrix);
    const factorized = trainItemItem(m.matrix, { maxDenseItems: 4, rank: m.items.length, iterations: 6 });
    expect(factorized.kind).toBe('factorized');
    for (const item of ['i0', 'i5', 'i13']) {
      const h = new Float32Array(m.items.length);
      const i = m.itemIndex.get(item) ?? -1;
      h[i] = 1;
      const want = referenceScores(dense, h);
      const got = referenceScores(factorized, h);
      // Every item, the shopper's own included: its score against itself is zero in both forms.
      for (let j = 0; j < want.length; j++) expect(got[j]).toBeCloseTo(want[j] ?? 0, 6);
    }
  });

  it('symmetric eigen-decomposition reconstructs the matrix', () => {
    const a = Float64Array.from([4, 1, 2, 1, 3, 0, 2, 0, 5]);
    const { values, vectors } = symmetricEigen(a, 3);
    expect(values[0]).toBeGreaterThanOrEqual(values[1] ?? 0);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++)
          s += (vectors[k * 3 + i] ?? 0) * (values[k] ?? 0) * (vectors[k * 3 + j] ?? 0);
        expect(s).toBeCloseTo(a[i * 3 + j] ?? 0, 9);
      }
    }
  });
});
