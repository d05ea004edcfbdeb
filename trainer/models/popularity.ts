/** Popularity: the baseline and the cold-start fallback — items ranked by how many users chose them. */
import type { SparseMatrix } from '../data/matrix';
import type { ScoringBody } from '../onnx/recommender-graphs';

/** Number of distinct rows (users) that interacted with each item. */
export function itemPopularity(x: SparseMatrix): Float64Array {
  const counts = new Float64Array(x.cols);
  for (let p = 0; p < x.colIdx.length; p++) {
    const c = x.colIdx[p] ?? 0;
    counts[c] = (counts[c] ?? 0) + 1;
  }
  return counts;
}

/** The popularity scoring body: a constant score row. */
export function trainPopularity(x: SparseMatrix): ScoringBody {
  return { kind: 'popularity', popularity: Float32Array.from(itemPopularity(x)) };
}
