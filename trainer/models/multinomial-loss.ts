/**
 * Mult-DAE's multinomial log-likelihood as one TF.js op with a hand-written gradient:
 *   loss = −(1/B) Σ_r Σ_c x_rc · log softmax(z_r)_c = (1/B) Σ_r (S_r · lse(z_r) − Σ_c x_rc z_rc),
 *   ∂loss/∂z_rc = (S_r · softmax(z_r)_c − x_rc) / B,      S_r = Σ_c x_rc.
 * Why by hand: composed from TF.js ops (logSoftmax, mul, sum, mean) the wasm backend computed exp
 * over the whole [batch, items] block twice (forward and in logSoftmax's gradient) plus several
 * full reductions, about 40 % of a training step (tf.profile). Here one pass computes both the
 * value and the gradient, and the targets x stay sparse (only the non-zeros enter Σ x·z).
 */
import type { SparseMatrix } from '../data/matrix';
import { tf } from '../tfjs/backend';

/**
 * Returns a TF.js op `z ↦ loss` for the batch whose targets are rows `rows` of `x` (so `z` is
 * [rows.length, x.cols]); its gradient is exact (the formula above), in float64 accumulators.
 */
export function multinomialLoss(x: SparseMatrix, rows: ArrayLike<number>): (z: tf.Tensor2D) => tf.Scalar {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor2D;
    const [batch, n] = z.shape;
    if (batch !== rows.length || n !== x.cols)
      throw new Error(`multinomialLoss: logits are [${batch}, ${n}], targets [${rows.length}, ${x.cols}]`);
    // The wasm backend keeps tensors in its own memory, so reading them synchronously is a copy.
    const logits = z.dataSync() as Float32Array;
    const grad = new Float32Array(batch * n);
    let total = 0;
    for (let i = 0; i < batch; i++) {
      const r = rows[i] ?? 0;
      const base = i * n;
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < n; c++) max = Math.max(max, logits[base + c] ?? 0);
      let sumExp = 0;
      for (let c = 0; c < n; c++) {
        const e = Math.exp((logits[base + c] ?? 0) - max);
        grad[base + c] = e;
        sumExp += e;
      }
      const lse = max + Math.log(sumExp);
      let targets = 0;
      let dot = 0;
      const start = x.rowPtr[r] ?? 0;
      const end = x.rowPtr[r + 1] ?? 0;
      for (let p = start; p < end; p++) {
        const v = x.values[p] ?? 0;
        targets += v;
        dot += v * (logits[base + (x.colIdx[p] ?? 0)] ?? 0);
      }
      total += targets * lse - dot;
      const scale = targets / (sumExp * batch);
      for (let c = 0; c < n; c++) grad[base + c] = (grad[base + c] ?? 0) * scale;
      for (let p = start; p < end; p++) {
        const c = base + (x.colIdx[p] ?? 0);
        grad[c] = (grad[c] ?? 0) - (x.values[p] ?? 0) / batch;
      }
    }
    return {
      value: tf.scalar(total / batch),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.mul(dy as tf.Tensor, tf.tensor2d(grad, [batch, n]))],
    };
  });
  return (z) => op(z) as tf.Scalar;
}
