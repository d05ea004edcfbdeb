/**
 * Picks EASE's λ on held-out users instead of hard-coding one: the right λ grows with the data
 * (Gram entries are co-occurrence counts), so Online Retail's best (500) over-smooths the 300-item
 * demo sample (best 50). Users are split as for Mult-DAE's early stopping (validation.ts), EASE is
 * fitted once per λ on everything but the held-out items (the eigenpairs or the Gram matrix are
 * computed once and shared), and the λ with the best validation nDCG@10 wins.
 */
import { forEachInRow, type SparseMatrix } from '../data/matrix';
import { seededRandom } from '../math/random';
import type { ScoringBody } from '../onnx/recommender-graphs';
import {
  denseEaseFromGram,
  denseGram,
  type EaseOptions,
  gramEigenpairs,
  lowRankEaseFromEigenpairs,
} from './ease';
import { MetricsAverage, rankingMetrics } from './metrics';
import { splitValidation, type Validation, withoutHeldOut } from './validation';

/** The λ values tried (a geometric grid: validation nDCG is flat near the optimum). */
export const LAMBDA_GRID = [10, 30, 100, 300, 1000, 3000];

/** The choice and what each candidate scored. */
export interface LambdaSelection {
  lambda: number;
  scores: Array<{ lambda: number; ndcg: number }>;
}

/** Scores of one fold-in row under a scoring body, in plain JS over its non-zeros. */
function scoreRow(body: ScoringBody, foldIn: SparseMatrix, r: number, out: Float64Array): void {
  const n = out.length;
  out.fill(0);
  if (body.kind === 'dense') {
    forEachInRow(foldIn, r, (c, v) => {
      for (let j = 0; j < n; j++) out[j] = (out[j] ?? 0) + v * (body.matrix[c * n + j] ?? 0);
    });
  } else if (body.kind === 'factorized') {
    const t = new Float64Array(body.rank);
    forEachInRow(foldIn, r, (c, v) => {
      for (let k = 0; k < body.rank; k++) t[k] = (t[k] ?? 0) + v * (body.u[c * body.rank + k] ?? 0);
    });
    for (let k = 0; k < body.rank; k++) {
      const tk = t[k] ?? 0;
      const base = k * n;
      for (let j = 0; j < n; j++) out[j] = (out[j] ?? 0) + tk * (body.v[base + j] ?? 0);
    }
  } else throw new Error(`λ selection scores dense or factorised bodies, not ${body.kind}`);
}

/** Indices of the k largest scores among items not in the fold-in row. */
function topK(scores: Float64Array, foldIn: SparseMatrix, r: number, k: number): number[] {
  const seen = new Set<number>();
  forEachInRow(foldIn, r, (c) => {
    seen.add(c);
  });
  const top: number[] = [];
  for (let j = 0; j < scores.length; j++) {
    if (seen.has(j)) continue;
    const s = scores[j] ?? 0;
    if (top.length === k && s <= (scores[top[k - 1] ?? 0] ?? 0)) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && (scores[top[at - 1] ?? 0] ?? 0) < s) at -= 1;
    top.splice(at, 0, j);
    if (top.length > k) top.pop();
  }
  return top;
}

function validationNdcg(body: ScoringBody, v: Validation): number {
  const avg = new MetricsAverage();
  const scores = new Float64Array(v.foldIn.cols);
  for (let r = 0; r < v.foldIn.rows; r++) {
    const relevant = v.heldOut[r];
    if (!relevant || relevant.size === 0) continue;
    scoreRow(body, v.foldIn, r, scores);
    avg.add(rankingMetrics(topK(scores, v.foldIn, r, 10), relevant, 10));
  }
  return avg.mean().ndcg;
}

/** Selects λ from `grid` by validation nDCG@10 (ties: the smaller λ). */
export function selectEaseLambda(
  x: SparseMatrix,
  options: EaseOptions & { grid?: number[]; seed?: number } = {},
): LambdaSelection {
  const grid = options.grid ?? LAMBDA_GRID;
  const { train, validation } = splitValidation(x, 0.1, seededRandom(options.seed ?? 42));
  if (validation.foldIn.rows === 0) return { lambda: grid[Math.floor(grid.length / 2)] ?? 100, scores: [] };
  const fit = withoutHeldOut(x, train, validation);
  const dense = x.cols <= (options.maxDenseItems ?? 1000);
  const gram = dense ? denseGram(fit) : undefined;
  const eigen = dense ? undefined : gramEigenpairs(fit, options);
  const scores = grid.map((lambda) => {
    const body: ScoringBody = gram
      ? { kind: 'dense', matrix: denseEaseFromGram(gram, x.cols, lambda) }
      : lowRankEaseFromEigenpairs(eigen ?? gramEigenpairs(fit, options), lambda);
    return { lambda, ndcg: validationNdcg(body, validation) };
  });
  const best = scores.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
  return { lambda: best.lambda, scores };
}
