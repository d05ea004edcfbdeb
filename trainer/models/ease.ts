/**
 * EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019) in low rank, so it
 * fits the edge. Exact EASE: P = (G + λI)⁻¹ with G = XᵀX (X binarised), B = I − P·diag(1/P_ii),
 * scores = x·B — an items × items matrix (400 MB at 10,000 items) and a cubic inverse.
 *
 * Here G is replaced by its top-`rank` eigenpairs G ≈ QΛQᵀ (sparse-eigen.ts, never forming G).
 * Then, exactly for that G, P = Q(Λ+λ)⁻¹Qᵀ + (I − QQᵀ)/λ and
 *   x·B = x·Q·diag(Λ / (λ(Λ+λ)))·Qᵀ·diag(1/P_ii)  +  (terms on the shopper's own items only),
 * and own items are always masked, so the graph is history · U · V with
 *   U = Q·diag(Λ / (λ(Λ+λ)))  [items, rank],   V = Qᵀ·diag(1/P_ii)  [rank, items],
 *   P_ii = Σ_k Q_ik² / (Λ_k+λ) + (1 − Σ_k Q_ik²) / λ.
 * EASE's own spectral filter Λ/(Λ+λ) shrinks every direction with an eigenvalue well below λ
 * towards zero, which is why dropping the tail costs little. Size: 2 × items × rank × 4 B.
 * Catalogues up to `maxDenseItems` (the demo shop's 300) get exact EASE as a dense matrix instead.
 */
import type { SparseMatrix } from '../data/matrix';
import { type EigenOptions, type Eigenpairs, topEigenpairs } from '../math/sparse-eigen';
import type { ScoringBody } from '../onnx/recommender-graphs';

/** Options of low-rank EASE. */
export interface EaseOptions extends EigenOptions {
  /** Eigenpairs kept (the graph's inner dimension). */
  rank?: number;
  /** L2 regularisation λ of the closed form. */
  lambda?: number;
  /** Up to this many items B is exact and dense (items² × 4 B: 4 MB at 1,000). */
  maxDenseItems?: number;
}

/**
 * G = XᵀX of the binarised matrix (or, `weighted`, of its stored values), dense row-major (small
 * catalogues only).
 */
export function denseGram(x: SparseMatrix, weighted = false): Float64Array {
  const n = x.cols;
  const g = new Float64Array(n * n);
  for (let r = 0; r < x.rows; r++) {
    const start = x.rowPtr[r] ?? 0;
    const end = x.rowPtr[r + 1] ?? 0;
    for (let p = start; p < end; p++) {
      const base = (x.colIdx[p] ?? 0) * n;
      const wp = weighted ? (x.values[p] ?? 0) : 1;
      for (let q = start; q < end; q++)
        g[base + (x.colIdx[q] ?? 0)] =
          (g[base + (x.colIdx[q] ?? 0)] ?? 0) + wp * (weighted ? (x.values[q] ?? 0) : 1);
    }
  }
  return g;
}

/**
 * Exact EASE from G: B = I − P·diag(1/P_ii) with P = (G + λI)⁻¹ by Cholesky (G + λI is symmetric
 * positive definite), diagonal zero. O(items³): for small catalogues only.
 */
export function denseEaseFromGram(gram: Float64Array, n: number, lambda: number): Float32Array {
  const a = Float64Array.from(gram);
  for (let i = 0; i < n; i++) a[i * n + i] = (a[i * n + i] ?? 0) + lambda;
  const p = invertSpd(a, n);
  const b = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) if (i !== j) b[i * n + j] = -(p[i * n + j] ?? 0) / (p[j * n + j] ?? 1);
  return b;
}

/**
 * Inverse of a symmetric positive definite n × n matrix (row-major) via Cholesky, A = LLᵀ, so
 * A⁻¹ = L⁻ᵀL⁻¹. Every inner loop runs along a row (contiguous memory): about n³/2 multiply-adds.
 */
export function invertSpd(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j] ?? 0;
      for (let k = 0; k < j; k++) s -= (l[ri + k] ?? 0) * (l[rj + k] ?? 0);
      if (i === j) {
        if (!(s > 0)) throw new Error('matrix is not positive definite');
        l[ri + i] = Math.sqrt(s);
      } else l[ri + j] = s / (l[rj + j] ?? 1);
    }
  }
  // Rows of M = L⁻¹ by forward substitution: M[i, :] = (e_i − Σ_{k<i} L[i, k]·M[k, :]) / L[i, i].
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    m[ri + i] = 1;
    for (let k = 0; k < i; k++) {
      const f = l[ri + k] ?? 0;
      if (f === 0) continue;
      const rk = k * n;
      for (let c = 0; c <= k; c++) m[ri + c] = (m[ri + c] ?? 0) - f * (m[rk + c] ?? 0);
    }
    const d = l[ri + i] ?? 1;
    for (let c = 0; c <= i; c++) m[ri + c] = (m[ri + c] ?? 0) / d;
  }
  // A⁻¹ = Mᵀ M = Σ_k M[k, :]ᵀ M[k, :]; M[k, :] is zero beyond column k. Lower half, then mirrored.
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const f = m[rk + i] ?? 0;
      if (f === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) out[ri + j] = (out[ri + j] ?? 0) + f * (m[rk + j] ?? 0);
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) out[j * n + i] = out[i * n + j] ?? 0;
  return out;
}

/**
 * Trains EASE on the (binarised) user × item matrix: exact and dense up to `maxDenseItems` (default
 * 1,000), low-rank and factorised above.
 */
export function trainEase(x: SparseMatrix, options: EaseOptions = {}): ScoringBody {
  const lambda = options.lambda ?? 500;
  if (!(lambda > 0)) throw new RangeError(`EASE lambda must be positive, got ${lambda}`);
  if (x.cols <= (options.maxDenseItems ?? 1000))
    return { kind: 'dense', matrix: denseEaseFromGram(denseGram(x), x.cols, lambda) };
  return lowRankEaseFromEigenpairs(gramEigenpairs(x, options), lambda);
}

/** The top eigenpairs of G = XᵀX (X binarised unless `weighted`) that low-rank EASE is built from. */
export function gramEigenpairs(x: SparseMatrix, options: EaseOptions = {}): Eigenpairs {
  return topEigenpairs(x, new Float64Array(x.cols).fill(1), options.rank ?? 128, options);
}

/** Low-rank EASE for one λ from G's eigenpairs (cheap: one set of eigenpairs serves every λ). */
export function lowRankEaseFromEigenpairs(
  eigen: Eigenpairs,
  lambda: number,
): Extract<ScoringBody, { kind: 'factorized' }> {
  const { rank, values, vectors } = eigen;
  const n = vectors.length / rank;
  const u = new Float32Array(n * rank);
  const v = new Float32Array(rank * n);
  for (let item = 0; item < n; item++) {
    let captured = 0;
    let pii = 0;
    for (let k = 0; k < rank; k++) {
      const q = vectors[item * rank + k] ?? 0;
      // Eigenvalues of a Gram matrix are ≥ 0; round-off may leave tiny negatives.
      const value = Math.max(values[k] ?? 0, 0);
      captured += q * q;
      pii += (q * q) / (value + lambda);
      u[item * rank + k] = (q * value) / (lambda * (value + lambda));
    }
    pii += Math.max(0, 1 - captured) / lambda;
    for (let k = 0; k < rank; k++) v[k * n + item] = (vectors[item * rank + k] ?? 0) / pii;
  }
  return { kind: 'factorized', rank, u, v };
}
