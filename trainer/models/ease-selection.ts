/**
 * Chooses EASE's configuration (λ, half-life, popularity exponent) on the temporal validation: each
 * half-life's fit is one eigendecomposition (or Gram matrix) shared by every λ and exponent, and each
 * candidate is scored as its exported graph on the lists the worker would serve.
 *
 * The half-life grid starts at 30 days: on Online Retail 7 and 14 days won on an 18-day validation
 * horizon but lost to no decay three months ahead (cut-off 2011-09-01), and a bundle serves until the
 * next training, often weeks later; 30 days was best on both horizons.
 */
import type { EaseOptions } from './ease';
import { decayWeights, type EaseConfig, easeBasis, easeFromBasis } from './ease-config';
import { type Families, type TemporalValidation, temporalValidationNdcg } from './temporal-validation';

/** λ values tried (geometric: validation nDCG is flat near the optimum; the right λ grows with the data). */
export const LAMBDA_GRID = [10, 30, 100, 300, 1000, 3000];
/** Half-lives tried, in days; `null` is no decay. */
export const HALF_LIFE_GRID: ReadonlyArray<number | null> = [null, 30, 90];
/** Popularity exponents tried (scores × popularity^−e). */
export const POPULARITY_EXPONENT_GRID = [0, 0.25];

/** A configuration and its validation nDCG@10. */
export type ScoredConfig = EaseConfig & { ndcg: number };

/** The choice, every candidate's score, and the best plain EASE (no decay, exponent 0) if tried. */
export interface EaseSelection {
  best: ScoredConfig;
  plain?: ScoredConfig;
  scores: ScoredConfig[];
}

/** The grids to search; a given value pins its dimension. */
export interface EaseGrids {
  lambdas?: readonly number[];
  halfLives?: ReadonlyArray<number | null>;
  exponents?: readonly number[];
}

/**
 * The candidate with the best validation nDCG@10. Ties go to the earlier candidate in the grids'
 * order: no decay before decay, exponent 0 before a larger one, the smaller λ — the simpler model.
 */
export function pickBest(scores: readonly ScoredConfig[]): ScoredConfig {
  const first = scores[0];
  if (!first) throw new Error('no EASE candidate was scored');
  return scores.reduce((a, b) => (b.ndcg > a.ndcg ? b : a), first);
}

/** Scores every configuration of the grids on `v` and picks the best. */
export async function selectEaseConfig(
  v: TemporalValidation,
  grids: EaseGrids,
  options: EaseOptions & { families?: Families },
  score: (name: string, body: Parameters<typeof temporalValidationNdcg>[1]) => Promise<number> = (
    name,
    body,
  ) => temporalValidationNdcg(name, body, v, options.families),
): Promise<EaseSelection> {
  const lambdas = grids.lambdas ?? LAMBDA_GRID;
  const halfLives = grids.halfLives ?? HALF_LIFE_GRID;
  const exponents = grids.exponents ?? POPULARITY_EXPONENT_GRID;
  const scores: ScoredConfig[] = [];
  for (const halfLifeDays of halfLives) {
    // Ages relative to the cut-off: the fit sees the data as it was then.
    const basis = easeBasis(decayWeights(v.fit, v.interactions, halfLifeDays, v.cutoff), options);
    for (const popularityExponent of exponents)
      for (const lambda of lambdas) {
        const body = easeFromBasis(basis, lambda, v.popularity, popularityExponent);
        scores.push({ lambda, halfLifeDays, popularityExponent, ndcg: await score('ease', body) });
      }
  }
  const plainScores = scores.filter((s) => s.halfLifeDays === null && s.popularityExponent === 0);
  return {
    best: pickBest(scores),
    ...(plainScores.length > 0 ? { plain: pickBest(plainScores) } : {}),
    scores,
  };
}

/** `30 d` / `no decay`: a half-life as the log prints it. */
export function halfLifeLabel(days: number | null): string {
  return days === null ? 'no decay' : `half-life ${days} d`;
}

/** One line per half-life and exponent: each λ's score. */
export function selectionLines(selection: EaseSelection): string[] {
  const groups = new Map<string, ScoredConfig[]>();
  for (const s of selection.scores) {
    const key = `${halfLifeLabel(s.halfLifeDays)}, popularity^−${s.popularityExponent}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups].map(
    ([key, list]) =>
      `EASE (${key}) λ by validation nDCG@10: ${list.map((s) => `${s.lambda} → ${s.ndcg.toFixed(4)}`).join(', ')}`,
  );
}
