import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { initBackend, tf } from '../tfjs/backend';
import { Adam } from './adam';
import { encodeRows, encoderGradients } from './sparse-encoder';

const random = seededRandom(3);
const rows: Interaction[] = [];
for (let u = 0; u < 6; u++)
  for (let i = 0; i < 9; i++)
    if (random() < 0.4)
      rows.push({ user: `u${u}`, item: `i${i}`, time: 0, weight: 1 + u, purchase: true, quantity: 1 });
const { matrix: x } = aggregate(rows);
const hidden = 4;
const n = x.cols;
const w1 = Float32Array.from({ length: n * hidden }, () => random() - 0.5);
const b1 = Float32Array.from({ length: hidden }, () => random() - 0.5);

/** The dense computation the sparse one replaces: normalise(x) as a dense matrix. */
function denseNormalised(r: number): Float64Array {
  const out = new Float64Array(n);
  let norm = 0;
  for (let p = x.rowPtr[r] ?? 0; p < (x.rowPtr[r + 1] ?? 0); p++) norm += (x.values[p] ?? 0) ** 2;
  for (let p = x.rowPtr[r] ?? 0; p < (x.rowPtr[r + 1] ?? 0); p++)
    out[x.colIdx[p] ?? 0] = (x.values[p] ?? 0) / Math.sqrt(norm);
  return out;
}

describe('sparse Mult-DAE encoder', () => {
  const batch = [3, 0, 5];

  it('forward equals normalise(x)·W1 + b1 computed densely', () => {
    const { pre } = encodeRows(x, batch, w1, b1, hidden);
    batch.forEach((r, i) => {
      const xr = denseNormalised(r);
      for (let j = 0; j < hidden; j++) {
        let want = b1[j] ?? 0;
        for (let c = 0; c < n; c++) want += (xr[c] ?? 0) * (w1[c * hidden + j] ?? 0);
        expect(pre[i * hidden + j]).toBeCloseTo(want, 5);
      }
    });
  });

  it('gradients equal x̃ᵀ·δ and Σδ computed densely', () => {
    const { inputs } = encodeRows(x, batch, w1, b1, hidden);
    const delta = Float32Array.from({ length: batch.length * hidden }, () => random() - 0.5);
    const gw = new Float32Array(n * hidden).fill(7); // stale values must be cleared
    const gb = new Float32Array(hidden);
    encoderGradients(inputs, delta, hidden, gw, gb);
    const xs = batch.map(denseNormalised);
    for (let c = 0; c < n; c++)
      for (let j = 0; j < hidden; j++) {
        const want = xs.reduce((s, xr, i) => s + (xr[c] ?? 0) * (delta[i * hidden + j] ?? 0), 0);
        expect(gw[c * hidden + j]).toBeCloseTo(want, 5);
      }
    for (let j = 0; j < hidden; j++)
      expect(gb[j]).toBeCloseTo(
        batch.reduce((s, _, i) => s + (delta[i * hidden + j] ?? 0), 0),
        5,
      );
  });

  it('dropout keeps about 1 − rate of the entries, scaled by 1/(1 − rate)', () => {
    const all = Array.from({ length: x.rows }, (_, r) => r);
    const plain = encodeRows(x, all, w1, b1, hidden).inputs;
    const dropped = encodeRows(x, all, w1, b1, hidden, 0.5, seededRandom(9)).inputs;
    expect(dropped.length).toBeGreaterThan(plain.length * 0.2);
    expect(dropped.length).toBeLessThan(plain.length * 0.8);
    // each survivor is its normalised value doubled
    for (let k = 0; k < dropped.length; k++) {
      const slot = dropped.slot[k] ?? -1;
      const col = dropped.col[k] ?? -1;
      const p = [...Array(plain.length).keys()].find((q) => plain.slot[q] === slot && plain.col[q] === col);
      expect(dropped.value[k]).toBeCloseTo(2 * (plain.value[p ?? -1] ?? Number.NaN), 6);
    }
  });
});

describe('Adam', () => {
  it('follows tf.train.adam step for step (with the L2 gradient added)', async () => {
    await initBackend();
    const init = Float32Array.from({ length: 12 }, () => random() - 0.5);
    const grads = Array.from({ length: 5 }, () => Float32Array.from({ length: 12 }, () => random() - 0.5));
    const l2 = 0.3;
    const mine = Float32Array.from(init);
    const adam = new Adam(12, 0.01);
    for (const g of grads) adam.step(mine, g, 2 * l2);

    const v = tf.variable(tf.tensor1d(init));
    const optimizer = tf.train.adam(0.01);
    for (const g of grads) {
      const grad = tf.tidy(() => tf.add(tf.tensor1d(g), tf.mul(2 * l2, v)));
      optimizer.applyGradients([{ name: v.name, tensor: grad }]);
      grad.dispose();
    }
    const theirs = await v.data();
    v.dispose();
    optimizer.dispose();
    for (let i = 0; i < 12; i++) expect(mine[i]).toBeCloseTo(theirs[i] ?? Number.NaN, 6);
    expect(Array.from(mine)).not.toEqual(Array.from(init));
  });
});
