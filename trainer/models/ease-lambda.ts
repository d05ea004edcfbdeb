/**
 * Picks EASE's λ on held-out users instead of hard-coding one: the right λ grows with the data
 * (Gram entries are co-occurrence counts), so Online Retail's best (500) over-smooths the 300-item
 * demo sample (best 50–100). Users are split as for Mult-DAE's early stopping (validation.ts), EASE
 * is fitted once per λ on everything but the held-out items (the eigenpairs or the Gram matrix are
 * computed once and shared), each fit is scored as the exported ONNX graph in onnxruntime-web (what
 * would be served, and its SIMD MatMul is far faster than scoring in JS), and the λ with the best
 * validation nDCG@10 wins.
 */
import type { SparseMatrix } from '../data/matrix';
import { seededRandom } from '../math/random';
import type { ScoringBody } from '../onnx/recommender-graphs';
import {
  denseEaseFromGram,
  denseGram,
  type EaseOptions,
  gramEigenpairs,
  lowRankEaseFromEigenpairs,
} from './ease';
import { onnxValidationNdcg } from './onnx-validation';
import { scoredUsers, splitValidation, type ValidationSplit, withoutHeldOut } from './validation';

/** The λ values tried (a geometric grid: validation nDCG is flat near the optimum). */
export const LAMBDA_GRID = [10, 30, 100, 300, 1000, 3000];

/** The choice and what each candidate scored. */
export interface LambdaSelection {
  lambda: number;
  scores: Array<{ lambda: number; ndcg: number }>;
}

/** Selects λ from `grid` by validation nDCG@10 (ties: the smaller λ). */
export async function selectEaseLambda(
  x: SparseMatrix,
  options: EaseOptions & { grid?: number[]; seed?: number; split?: ValidationSplit } = {},
): Promise<LambdaSelection> {
  const grid = options.grid ?? LAMBDA_GRID;
  // A given split lets EASE be compared with another model on exactly the same users.
  const { train, validation } = options.split ?? splitValidation(x, 0.1, seededRandom(options.seed ?? 42));
  // Nobody to score on (no user with 5+ items, or none with an item held out): every λ would score 0.
  if (scoredUsers(validation) === 0) return { lambda: grid[Math.floor(grid.length / 2)] ?? 100, scores: [] };
  const fit = withoutHeldOut(x, train, validation);
  const dense = x.cols <= (options.maxDenseItems ?? 1000);
  const gram = dense ? denseGram(fit) : undefined;
  const eigen = dense ? undefined : gramEigenpairs(fit, options);
  const scores: LambdaSelection['scores'] = [];
  for (const lambda of grid) {
    const body: ScoringBody = gram
      ? { kind: 'dense', matrix: denseEaseFromGram(gram, x.cols, lambda) }
      : lowRankEaseFromEigenpairs(eigen ?? gramEigenpairs(fit, options), lambda);
    scores.push({ lambda, ndcg: await onnxValidationNdcg('ease', body, validation) });
  }
  const best = scores.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
  return { lambda: best.lambda, scores };
}
