/**
 * Item-to-item model ("similar" / "bought together"): cosine similarity of items' co-occurrence
 * across rows (users or baskets) of a binarised interaction matrix X:
 *   S = D^-½ XᵀX D^-½,  D = diag(number of rows containing each item).
 * Scores for a history h are h · S. Small catalogues keep S dense (exact). Larger ones never form S:
 * it is factorised as S ≈ Q Λ Qᵀ (its top `rank` eigenpairs), computed by randomised subspace
 * iteration on the sparse A = X D^-½ (S = AᵀA), so the graph is h · (QΛ) · Qᵀ and a 10,000-item
 * catalogue at rank 128 weighs 2 × 10,000 × 128 × 4 B ≈ 10 MB instead of 400 MB.
 */
import type { SparseMatrix } from '../data/matrix';
import { orthonormalize, symmetricEigen } from '../math/linalg';
import { gaussian, seededRandom } from '../math/random';
import type { ScoringBody } from '../onnx/recommender-graphs';

/** Options of the item-item model. */
export interface ItemItemOptions {
  /** Up to this many items S is stored dense and exact. */
  maxDenseItems?: number;
  /** Rank of the factorisation above `maxDenseItems`. */
  rank?: number;
  /** Subspace (power) iterations: more = closer to the true top eigenvectors. */
  iterations?: number;
  seed?: number;
}

/** Item frequencies (rows containing each item) of a matrix. */
function itemCounts(x: SparseMatrix): Float64Array {
  const counts = new Float64Array(x.cols);
  for (let p = 0; p < x.colIdx.length; p++) {
    const c = x.colIdx[p] ?? 0;
    counts[c] = (counts[c] ?? 0) + 1;
  }
  return counts;
}

/** Trains the item-item model; returns the ONNX scoring body (dense or factorised). */
export function trainItemItem(x: SparseMatrix, options: ItemItemOptions = {}): ScoringBody {
  const maxDense = options.maxDenseItems ?? 1000;
  const scale = itemCounts(x).map((c) => (c > 0 ? 1 / Math.sqrt(c) : 0));
  if (x.cols <= maxDense) return { kind: 'dense', matrix: denseCosine(x, scale) };
  return factorizedCosine(x, scale, options);
}

function denseCosine(x: SparseMatrix, scale: Float64Array): Float32Array {
  const n = x.cols;
  const s = new Float64Array(n * n);
  for (let r = 0; r < x.rows; r++) {
    const start = x.rowPtr[r] ?? 0;
    const end = x.rowPtr[r + 1] ?? 0;
    for (let a = start; a < end; a++) {
      const i = x.colIdx[a] ?? 0;
      for (let b = start; b < end; b++) {
        const j = x.colIdx[b] ?? 0;
        s[i * n + j] = (s[i * n + j] ?? 0) + 1;
      }
    }
  }
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      // The diagonal (an item's similarity to itself) would only push the shopper's own items up;
      // they are masked anyway, and zeroing keeps the scores of the others comparable.
      out[i * n + j] = i === j ? 0 : (s[i * n + j] ?? 0) * (scale[i] ?? 0) * (scale[j] ?? 0);
    }
  }
  return out;
}

/** Transposes a rows × cols row-major matrix (= column-major cols × rows) into the other layout. */
function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c] ?? 0;
  return out;
}

/**
 * S · m for m n × l row-major, as Aᵀ(A m) with A = X D^-½ binarised: two passes over the sparse
 * matrix, never an n × n matrix. Row-major keeps the inner loop over l contiguous.
 */
function multiplyS(x: SparseMatrix, scale: Float64Array, m: Float64Array, l: number): Float64Array {
  const row = new Float64Array(l);
  const out = new Float64Array(x.cols * l);
  for (let r = 0; r < x.rows; r++) {
    row.fill(0);
    const start = x.rowPtr[r] ?? 0;
    const end = x.rowPtr[r + 1] ?? 0;
    for (let p = start; p < end; p++) {
      const c = x.colIdx[p] ?? 0;
      const w = scale[c] ?? 0;
      const base = c * l;
      for (let k = 0; k < l; k++) row[k] = (row[k] ?? 0) + w * (m[base + k] ?? 0);
    }
    for (let p = start; p < end; p++) {
      const c = x.colIdx[p] ?? 0;
      const w = scale[c] ?? 0;
      const base = c * l;
      for (let k = 0; k < l; k++) out[base + k] = (out[base + k] ?? 0) + w * (row[k] ?? 0);
    }
  }
  return out;
}

function factorizedCosine(x: SparseMatrix, scale: Float64Array, options: ItemItemOptions): ScoringBody {
  const n = x.cols;
  const rank = Math.min(options.rank ?? 128, n);
  const l = Math.min(n, rank + 16); // oversampling for an accurate top-`rank`
  const normal = gaussian(seededRandom(options.seed ?? 7));
  // q is kept column-major (n × l) for Gram–Schmidt, row-major for the products.
  let q: Float64Array = Float64Array.from({ length: n * l }, normal);
  for (let it = 0; it < (options.iterations ?? 4); it++) {
    orthonormalize(q, n, l, 1);
    q = transpose(multiplyS(x, scale, transpose(q, l, n), l), n, l);
  }
  orthonormalize(q, n, l);
  const qRow = transpose(q, l, n);
  // B = Qᵀ S Q, small l × l, whose eigenpairs rotate Q onto S's eigenvectors.
  const sq = multiplyS(x, scale, qRow, l);
  const b = new Float64Array(l * l);
  for (let item = 0; item < n; item++) {
    const base = item * l;
    for (let i = 0; i < l; i++) {
      const qi = qRow[base + i] ?? 0;
      if (qi === 0) continue;
      for (let j = 0; j < l; j++) b[i * l + j] = (b[i * l + j] ?? 0) + qi * (sq[base + j] ?? 0);
    }
  }
  const { values, vectors } = symmetricEigen(b, l);
  const u = new Float32Array(n * rank); // row-major [n, rank]: (QW)Λ
  const v = new Float32Array(rank * n); // row-major [rank, n]: (QW)ᵀ
  for (let item = 0; item < n; item++) {
    const base = item * l;
    for (let k = 0; k < rank; k++) {
      let e = 0;
      for (let j = 0; j < l; j++) e += (qRow[base + j] ?? 0) * (vectors[k * l + j] ?? 0);
      u[item * rank + k] = e * (values[k] ?? 0);
      v[k * n + item] = e;
    }
  }
  return { kind: 'factorized', rank, u, v };
}
