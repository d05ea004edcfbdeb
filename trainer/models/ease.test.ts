import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { trainEase } from './ease';
import { referenceScores } from './reference';

function data(): Interaction[] {
  const random = seededRandom(4);
  const rows: Interaction[] = [];
  for (let u = 0; u < 80; u++) {
    const group = u % 4;
    for (let i = 0; i < 20; i++)
      if (random() < (i % 4 === group ? 0.6 : 0.08))
        rows.push({
          user: `u${u}`,
          item: `i${i}`,
          time: 0,
          weight: 1 + random(),
          purchase: true,
          quantity: 1,
        });
  }
  return rows;
}

/** Exact EASE the textbook way: B = I − P·diag(1/P_ii), P = (XᵀX + λI)⁻¹ by Gauss–Jordan. */
function exactEase(rows: number[][], n: number, lambda: number): Float64Array {
  const a = new Float64Array(n * 2 * n);
  for (const items of rows)
    for (const i of items) for (const j of items) a[i * 2 * n + j] = (a[i * 2 * n + j] ?? 0) + 1;
  for (let i = 0; i < n; i++) {
    a[i * 2 * n + i] = (a[i * 2 * n + i] ?? 0) + lambda;
    a[i * 2 * n + n + i] = 1;
  }
  for (let c = 0; c < n; c++) {
    const pivot = a[c * 2 * n + c] ?? 1;
    for (let j = 0; j < 2 * n; j++) a[c * 2 * n + j] = (a[c * 2 * n + j] ?? 0) / pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * 2 * n + c] ?? 0;
      for (let j = 0; j < 2 * n; j++)
        a[r * 2 * n + j] = (a[r * 2 * n + j] ?? 0) - f * (a[c * 2 * n + j] ?? 0);
    }
  }
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const p = a[i * 2 * n + n + j] ?? 0;
      b[i * n + j] = (i === j ? 1 : 0) - p / (a[j * 2 * n + n + j] ?? 1);
    }
  return b;
}

describe('low-rank EASE', () => {
  const m = aggregate(data());
  const n = m.items.length;
  const rowsItems = Array.from({ length: m.matrix.rows }, (_, r) =>
    Array.from(m.matrix.colIdx.subarray(m.matrix.rowPtr[r] ?? 0, m.matrix.rowPtr[r + 1] ?? 0)),
  );
  const lambda = 30;
  const exact = exactEase(rowsItems, n, lambda);
  const history = (r: number) => {
    const h = new Float32Array(n);
    for (const c of rowsItems[r] ?? []) h[c] = 1;
    return h;
  };
  const exactScores = (h: Float32Array) => {
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++)
      if (h[i]) for (let j = 0; j < n; j++) s[j] = (s[j] ?? 0) + (exact[i * n + j] ?? 0);
    return s;
  };

  it("at full rank equals exact EASE on every item, the shopper's own included (B has a zero diagonal)", () => {
    const body = trainEase(m.matrix, { rank: n, lambda, iterations: 8, maxDenseItems: 0 });
    for (const r of [0, 5, 17, 42]) {
      const h = history(r);
      const want = exactScores(h);
      const got = referenceScores(body, h);
      for (let j = 0; j < n; j++) expect(got[j]).toBeCloseTo(want[j] ?? 0, 5);
    }
  });

  it("at low rank (6 of 20) still recommends from the shopper's taste group", () => {
    const body = trainEase(m.matrix, { rank: 6, lambda, maxDenseItems: 0 });
    const groupOfItem = (j: number) => Number((m.items[j] ?? '').slice(1)) % 4;
    for (const r of [1, 3, 6]) {
      const h = history(r);
      const group = Number((m.users[r] ?? '').slice(1)) % 4;
      const top = Array.from(referenceScores(body, h), (v, j) => [v, j] as const)
        .filter(([, j]) => !h[j])
        .sort((a, b) => b[0] - a[0])
        .slice(0, 2)
        .map(([, j]) => groupOfItem(j));
      expect(top).toEqual([group, group]);
    }
  });

  it('small catalogues: exact dense EASE (Cholesky) equals the textbook inverse, zero diagonal', () => {
    const body = trainEase(m.matrix, { lambda });
    expect(body.kind).toBe('dense');
    if (body.kind !== 'dense') return;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        expect(body.matrix[i * n + j]).toBeCloseTo(i === j ? 0 : (exact[i * n + j] ?? 0), 5);
  });

  it('rejects a non-positive lambda', () => {
    expect(() => trainEase(m.matrix, { lambda: 0 })).toThrow(/lambda/);
  });
});
