/**
 * The EASE configuration `train` ships: λ, a recency half-life for the fit and a popularity exponent.
 *  - Fit on interactions that fade with age: each customer × item entry of the Gram matrix weighs
 *    2^(−age / half-life), its age that of the customer's latest interaction with the item, relative
 *    to `now` (the validation cut-off while choosing, the data's end for the shipped fit). Wholesale
 *    customers re-order last season's range; what they bought lately says more about what they buy
 *    next (docs/trainer.md "EASE").
 *  - Final scores × popularity^−exponent: a per-item column scale, folded into B (dense: its columns;
 *    factorised: V's columns, and so the `diag(UV)` term with them), so the graph and the bundle
 *    format are unchanged. It damps the best sellers EASE ranks high for everyone.
 */
import type { InteractionMatrix, SparseMatrix } from '../data/matrix';
import { type Interaction, isSignal } from '../data/types';
import type { Eigenpairs } from '../math/sparse-eigen';
import type { ScoringBody } from '../onnx/recommender-graphs';
import {
  denseEaseFromGram,
  denseGram,
  type EaseOptions,
  gramEigenpairs,
  lowRankEaseFromEigenpairs,
} from './ease';

/** One EASE configuration. `halfLifeDays: null` is no decay (the binarised fit). */
export interface EaseConfig {
  lambda: number;
  halfLifeDays: number | null;
  popularityExponent: number;
}

const DAY_MS = 86_400_000;

/**
 * The fit matrix: `m.matrix`'s entries with value 1 (no half-life) or 2^(−age / half-life), age =
 * `now` − the time of the row's latest interaction with the item (0 if later than `now`); a later
 * removal from the cart is none (isSignal): it makes the item no fresher.
 */
export function decayWeights(
  m: InteractionMatrix,
  interactions: readonly Interaction[],
  halfLifeDays: number | null,
  now: number,
): SparseMatrix {
  const x = m.matrix;
  if (halfLifeDays === null) return { ...x, values: new Float32Array(x.values.length).fill(1) };
  if (!(halfLifeDays > 0)) throw new RangeError(`half-life must be positive days, got ${halfLifeDays}`);
  const rowOf = new Map(m.users.map((u, i) => [u, i]));
  const latest = new Map<number, number>();
  for (const it of interactions) {
    const r = rowOf.get(it.user);
    const c = m.itemIndex.get(it.item);
    if (r === undefined || c === undefined || !isSignal(it)) continue;
    const key = r * x.cols + c;
    const seen = latest.get(key);
    if (seen === undefined || it.time > seen) latest.set(key, it.time);
  }
  const values = new Float32Array(x.values.length);
  for (let r = 0; r < x.rows; r++)
    for (let p = x.rowPtr[r] ?? 0; p < (x.rowPtr[r + 1] ?? 0); p++) {
      const time = latest.get(r * x.cols + (x.colIdx[p] ?? 0));
      const age = time === undefined ? 0 : Math.max(0, now - time);
      values[p] = 2 ** (-age / (halfLifeDays * DAY_MS));
    }
  return { ...x, values };
}

/** popularity^−exponent per item (popularity below 1 counts as 1: an unseen item is not boosted). */
export function popularityScale(popularity: ArrayLike<number>, exponent: number): Float64Array {
  return Float64Array.from(
    { length: popularity.length },
    (_, i) => Math.max(popularity[i] ?? 0, 1) ** -exponent,
  );
}

/** `body` with every item's score multiplied by `scale[item]`, folded into its weights (a copy). */
export function scaleItemScores(body: ScoringBody, scale: Float64Array): ScoringBody {
  if (body.kind === 'dense') {
    const n = scale.length;
    const matrix = Float32Array.from(body.matrix);
    // scores = history · B: item i's score is column i of B.
    for (let j = 0; j < n; j++)
      for (let i = 0; i < n; i++) matrix[j * n + i] = (matrix[j * n + i] ?? 0) * (scale[i] ?? 1);
    return { kind: 'dense', matrix };
  }
  if (body.kind === 'factorized') {
    const n = scale.length;
    const v = Float32Array.from(body.v);
    for (let k = 0; k < body.rank; k++)
      for (let i = 0; i < n; i++) v[k * n + i] = (v[k * n + i] ?? 0) * (scale[i] ?? 1);
    return { ...body, v };
  }
  throw new Error(`cannot scale a ${body.kind} body`);
}

/** The shared part of one half-life's fits: a Gram matrix (dense) or its eigenpairs (low rank). */
export type EaseBasis =
  | { kind: 'dense'; gram: Float64Array; n: number }
  | { kind: 'eigen'; eigen: Eigenpairs };

/** The basis of a fit on `weights` (decayWeights' matrix): every λ and exponent shares it. */
export function easeBasis(weights: SparseMatrix, options: EaseOptions = {}): EaseBasis {
  if (weights.cols <= (options.maxDenseItems ?? 1000))
    return { kind: 'dense', gram: denseGram(weights, true), n: weights.cols };
  return { kind: 'eigen', eigen: gramEigenpairs(weights, { ...options, weighted: true }) };
}

/** EASE for λ from a basis, its scores scaled by popularity^−exponent. */
export function easeFromBasis(
  basis: EaseBasis,
  lambda: number,
  popularity: ArrayLike<number>,
  exponent: number,
): ScoringBody {
  if (!(lambda > 0)) throw new RangeError(`EASE lambda must be positive, got ${lambda}`);
  const body: ScoringBody =
    basis.kind === 'dense'
      ? { kind: 'dense', matrix: denseEaseFromGram(basis.gram, basis.n, lambda) }
      : lowRankEaseFromEigenpairs(basis.eigen, lambda);
  return exponent === 0 ? body : scaleItemScores(body, popularityScale(popularity, exponent));
}

/** Fits one configuration on `m` (ages relative to `now`), popularity = distinct customers per item in `m`. */
export function fitEaseConfig(
  m: InteractionMatrix,
  interactions: readonly Interaction[],
  config: EaseConfig,
  now: number,
  popularity: ArrayLike<number>,
  options: EaseOptions = {},
): ScoringBody {
  const basis = easeBasis(decayWeights(m, interactions, config.halfLifeDays, now), options);
  return easeFromBasis(basis, config.lambda, popularity, config.popularityExponent);
}
