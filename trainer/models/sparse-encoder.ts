/**
 * Mult-DAE's first layer on sparse input, in plain JavaScript. A shopper touches ~2 % of the
 * catalogue, so the dense products TF.js would run for it (x·W1 forward, xᵀ·δ for W1's gradient,
 * plus normalising and dropping out a dense batch) spend ~98 % of their work on zeros. Here the
 * forward is W1 rows gathered and summed per shopper and the gradient is scattered back into
 * exactly those rows: batch × nnz × hidden instead of batch × items × hidden.
 */
import type { SparseMatrix } from '../data/matrix';

/** The surviving (L2-normalised, dropout-scaled) inputs of a batch, kept for the backward pass. */
export interface EncodedInputs {
  /** Batch position of each surviving entry. */
  slot: Int32Array;
  col: Int32Array;
  value: Float32Array;
  length: number;
}

/**
 * pre[i, :] = b1 + Σ_c x̃[r_i, c] · W1[c, :] with x̃ the row L2-normalised and, when `dropout` > 0,
 * each entry kept with probability 1 − dropout and scaled by 1 / (1 − dropout) (inverted dropout,
 * as tf.dropout). W1 is row-major [items, hidden].
 */
export function encodeRows(
  x: SparseMatrix,
  rows: ArrayLike<number>,
  w1: Float32Array,
  b1: Float32Array,
  hidden: number,
  dropout = 0,
  random: () => number = Math.random,
): { pre: Float32Array; inputs: EncodedInputs } {
  const pre = new Float32Array(rows.length * hidden);
  let capacity = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] ?? 0;
    capacity += (x.rowPtr[r + 1] ?? 0) - (x.rowPtr[r] ?? 0);
  }
  const inputs: EncodedInputs = {
    slot: new Int32Array(capacity),
    col: new Int32Array(capacity),
    value: new Float32Array(capacity),
    length: 0,
  };
  const keepScale = dropout > 0 ? 1 / (1 - dropout) : 1;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] ?? 0;
    const start = x.rowPtr[r] ?? 0;
    const end = x.rowPtr[r + 1] ?? 0;
    let norm = 0;
    for (let p = start; p < end; p++) norm += (x.values[p] ?? 0) ** 2;
    const scale = keepScale / Math.max(Math.sqrt(norm), 1e-12);
    const out = i * hidden;
    pre.set(b1, out);
    for (let p = start; p < end; p++) {
      if (dropout > 0 && random() < dropout) continue;
      const c = x.colIdx[p] ?? 0;
      const v = (x.values[p] ?? 0) * scale;
      const n = inputs.length++;
      inputs.slot[n] = i;
      inputs.col[n] = c;
      inputs.value[n] = v;
      const base = c * hidden;
      for (let j = 0; j < hidden; j++) pre[out + j] = (pre[out + j] ?? 0) + v * (w1[base + j] ?? 0);
    }
  }
  return { pre, inputs };
}

/**
 * Gradients of the first layer from δ = ∂loss/∂pre ([batch, hidden]): ∂W1[c, :] += x̃ · δ[i, :] for
 * each surviving entry (written into `gradW1`, which is zeroed first), ∂b1 = Σ_i δ[i, :].
 */
export function encoderGradients(
  inputs: EncodedInputs,
  delta: Float32Array,
  hidden: number,
  gradW1: Float32Array,
  gradB1: Float32Array,
): void {
  gradW1.fill(0);
  gradB1.fill(0);
  const batch = delta.length / hidden;
  for (let i = 0; i < batch; i++) {
    for (let j = 0; j < hidden; j++) gradB1[j] = (gradB1[j] ?? 0) + (delta[i * hidden + j] ?? 0);
  }
  for (let n = 0; n < inputs.length; n++) {
    const v = inputs.value[n] ?? 0;
    const src = (inputs.slot[n] ?? 0) * hidden;
    const dst = (inputs.col[n] ?? 0) * hidden;
    for (let j = 0; j < hidden; j++) gradW1[dst + j] = (gradW1[dst + j] ?? 0) + v * (delta[src + j] ?? 0);
  }
}
