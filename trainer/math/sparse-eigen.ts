/**
 * Top eigenpairs of a Gram matrix G = AᵀA with A = X·diag(scale), X a binarised sparse matrix,
 * without ever forming the items × items G: randomised subspace iteration (Halko, Martinsson &
 * Tropp 2011) where each product G·M is Aᵀ(A·M), two passes over the non-zeros. Used by the
 * item-item cosine (scale = D^-½) and low-rank EASE (scale = 1).
 */
import type { SparseMatrix } from '../data/matrix';
import { orthonormalize, symmetricEigen } from './linalg';
import { gaussian, seededRandom } from './random';

/** Options of `topEigenpairs`. */
export interface EigenOptions {
  /** Subspace (power) iterations: more = closer to the true top eigenvectors. */
  iterations?: number;
  seed?: number;
  /**
   * Use the matrix's stored values instead of binarising it: G = Σ_u (w_u ⊙ scale)ᵀ(w_u ⊙ scale).
   * EASE's recency-faded fit (ease-config.ts) weights each customer × item entry by its age.
   */
  weighted?: boolean;
}

/** The top `rank` eigenpairs, values descending; vectors row-major [items, rank]. */
export interface Eigenpairs {
  rank: number;
  values: Float64Array;
  vectors: Float64Array;
}

/** Transposes a rows × cols row-major matrix (= column-major cols × rows) into the other layout. */
function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c] ?? 0;
  return out;
}

/**
 * G · m for m n × l row-major, as Aᵀ(A m): two passes over the sparse matrix, never an n × n
 * matrix. Row-major keeps the inner loop over l contiguous.
 */
export function multiplyGram(
  x: SparseMatrix,
  scale: Float64Array,
  m: Float64Array,
  l: number,
  weighted = false,
): Float64Array {
  const row = new Float64Array(l);
  const out = new Float64Array(x.cols * l);
  for (let r = 0; r < x.rows; r++) {
    row.fill(0);
    const start = x.rowPtr[r] ?? 0;
    const end = x.rowPtr[r + 1] ?? 0;
    for (let p = start; p < end; p++) {
      const c = x.colIdx[p] ?? 0;
      const w = (scale[c] ?? 0) * (weighted ? (x.values[p] ?? 0) : 1);
      const base = c * l;
      for (let k = 0; k < l; k++) row[k] = (row[k] ?? 0) + w * (m[base + k] ?? 0);
    }
    for (let p = start; p < end; p++) {
      const c = x.colIdx[p] ?? 0;
      const w = (scale[c] ?? 0) * (weighted ? (x.values[p] ?? 0) : 1);
      const base = c * l;
      for (let k = 0; k < l; k++) out[base + k] = (out[base + k] ?? 0) + w * (row[k] ?? 0);
    }
  }
  return out;
}

/** The top `rank` eigenpairs of (X diag(scale))ᵀ (X diag(scale)), X binarised unless `weighted`. */
export function topEigenpairs(
  x: SparseMatrix,
  scale: Float64Array,
  rank: number,
  options: EigenOptions = {},
): Eigenpairs {
  const n = x.cols;
  const r = Math.min(rank, n);
  const l = Math.min(n, r + 16); // oversampling for an accurate top-`rank`
  const normal = gaussian(seededRandom(options.seed ?? 7));
  // q is kept column-major (n × l) for Gram–Schmidt, row-major for the products.
  let q: Float64Array = Float64Array.from({ length: n * l }, normal);
  for (let it = 0; it < (options.iterations ?? 4); it++) {
    orthonormalize(q, n, l, 1);
    q = transpose(multiplyGram(x, scale, transpose(q, l, n), l, options.weighted), n, l);
  }
  orthonormalize(q, n, l);
  const qRow = transpose(q, l, n);
  // B = Qᵀ G Q, small l × l, whose eigenpairs rotate Q onto G's eigenvectors.
  const gq = multiplyGram(x, scale, qRow, l, options.weighted);
  const b = new Float64Array(l * l);
  for (let item = 0; item < n; item++) {
    const base = item * l;
    for (let i = 0; i < l; i++) {
      const qi = qRow[base + i] ?? 0;
      if (qi === 0) continue;
      for (let j = 0; j < l; j++) b[i * l + j] = (b[i * l + j] ?? 0) + qi * (gq[base + j] ?? 0);
    }
  }
  const { values, vectors } = symmetricEigen(b, l);
  const out = new Float64Array(n * r);
  for (let item = 0; item < n; item++) {
    const base = item * l;
    for (let k = 0; k < r; k++) {
      let e = 0;
      for (let j = 0; j < l; j++) e += (qRow[base + j] ?? 0) * (vectors[k * l + j] ?? 0);
      out[item * r + k] = e;
    }
  }
  return { rank: r, values: values.slice(0, r), vectors: out };
}
