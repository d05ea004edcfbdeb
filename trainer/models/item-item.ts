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
import { type EigenOptions, topEigenpairs } from '../math/sparse-eigen';
import type { ScoringBody } from '../onnx/recommender-graphs';

/** Options of the item-item model. */
export interface ItemItemOptions extends EigenOptions {
  /** Up to this many items S is stored dense and exact. */
  maxDenseItems?: number;
  /** Rank of the factorisation above `maxDenseItems`. */
  rank?: number;
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

function factorizedCosine(x: SparseMatrix, scale: Float64Array, options: ItemItemOptions): ScoringBody {
  const n = x.cols;
  const { rank, values, vectors } = topEigenpairs(x, scale, options.rank ?? 128, options);
  const u = new Float32Array(n * rank); // row-major [n, rank]: QΛ
  const v = new Float32Array(rank * n); // row-major [rank, n]: Qᵀ
  for (let item = 0; item < n; item++) {
    for (let k = 0; k < rank; k++) {
      const e = vectors[item * rank + k] ?? 0;
      u[item * rank + k] = e * (values[k] ?? 0);
      v[k * n + item] = e;
    }
  }
  return { kind: 'factorized', rank, u, v };
}
