/**
 * Plain-JS reference of what each exported graph computes (float64), used by the parity tests and
 * as the ground truth the ONNX files are compared against. Not used for serving.
 */
import { factorizedDiagonal, MASK_PENALTY, type ScoringBody } from '../onnx/recommender-graphs';

/** Raw scores of one history vector (length = items). */
export function referenceScores(body: ScoringBody, history: Float32Array): Float64Array {
  const n = history.length;
  const out = new Float64Array(n);
  switch (body.kind) {
    case 'dense':
      for (let i = 0; i < n; i++) {
        const h = history[i] ?? 0;
        if (h === 0) continue;
        for (let j = 0; j < n; j++) out[j] = (out[j] ?? 0) + h * (body.matrix[i * n + j] ?? 0);
      }
      return out;
    case 'factorized': {
      const z = new Float64Array(body.rank);
      for (let i = 0; i < n; i++) {
        const h = history[i] ?? 0;
        if (h === 0) continue;
        for (let k = 0; k < body.rank; k++) z[k] = (z[k] ?? 0) + h * (body.u[i * body.rank + k] ?? 0);
      }
      for (let k = 0; k < body.rank; k++) {
        for (let j = 0; j < n; j++) out[j] = (out[j] ?? 0) + (z[k] ?? 0) * (body.v[k * n + j] ?? 0);
      }
      // Without each item's score against itself (see ScoringBody): the values the graph subtracts.
      const selfScores = factorizedDiagonal(body);
      for (let j = 0; j < n; j++) out[j] = (out[j] ?? 0) - (history[j] ?? 0) * (selfScores[j] ?? 0);
      return out;
    }
    case 'autoencoder': {
      const norm = Math.max(Math.sqrt(history.reduce((s, v) => s + v * v, 0)), 1e-12);
      const hidden = new Float64Array(body.hidden);
      for (let k = 0; k < body.hidden; k++) hidden[k] = body.b1[k] ?? 0;
      for (let i = 0; i < n; i++) {
        const x = (history[i] ?? 0) / norm;
        if (x === 0) continue;
        for (let k = 0; k < body.hidden; k++)
          hidden[k] = (hidden[k] ?? 0) + x * (body.w1[i * body.hidden + k] ?? 0);
      }
      for (let j = 0; j < n; j++) out[j] = body.b2[j] ?? 0;
      for (let k = 0; k < body.hidden; k++) {
        const h = Math.tanh(hidden[k] ?? 0);
        for (let j = 0; j < n; j++) out[j] = (out[j] ?? 0) + h * (body.w2[k * n + j] ?? 0);
      }
      return out;
    }
    case 'popularity':
      return Float64Array.from(body.popularity);
  }
}

/** Top-k of scores after masking, as the graphs do it: indices by descending score, ties by index. */
export function referenceTopK(
  scores: Float64Array,
  mask: Float32Array,
  k: number,
): { indices: number[]; scores: number[] } {
  const masked = Array.from(scores, (s, i) => s + ((mask[i] ?? 0) - 1) * MASK_PENALTY);
  const order = masked
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, Math.min(k, scores.length));
  return { indices: order.map(([, i]) => i), scores: order.map(([s]) => s) };
}
