/**
 * `train`'s validation: the last part of the data in time. Models are fitted on what came before a
 * cut-off and scored on each known customer's purchases from then on of items new to them, as `eval`
 * scores its test split (eval/split.ts `temporalSplit`, eval/evaluate.ts `relevantSets` and
 * `evaluateOnnx`): lists as the worker serves them, the graph's top-50, best sellers where the model
 * has no evidence, at most 40 % from one product family.
 *
 * The cut-off is eval's default rule applied to the training data: the day by which 90 % of the
 * interactions happened (on full Online Retail 2011-11-21, 18 days before its end; inside eval's
 * training part 2011-11-04). A random hold-out of 20 % of some users' items, as before, asks a model
 * to fill gaps in the past — it rates a fit that weighs recent purchases higher as worse (0.19 vs 0.25
 * nDCG@10) and lets every candidate learn from the period it is scored on — where a shop asks it
 * what a customer buys next.
 */
import type { CatalogueItem } from '../../contracts/manifest';
import { type IdentityLinks, stitchIdentities } from '../data/identities';
import { aggregate, forEachInRow, type InteractionMatrix, type SparseMatrix } from '../data/matrix';
import { type Interaction, isSignal } from '../data/types';
import { evaluateOnnx, type RelevantItems, relevantSets } from '../eval/evaluate';
import { servedExclusions } from '../eval/exclusions';
import { quantileCutoff, temporalSplit } from '../eval/split';
import { buildRecommenderGraph, type ScoringBody } from '../onnx/recommender-graphs';
import { MODEL_TOP_K } from '../pipeline/top-k';
import { itemPopularity } from './popularity';
import type { ValidationSplit } from './validation';

/** Share of the interactions (by time) before the validation cut-off. */
export const VALIDATION_TRAIN_SHARE = 0.9;

/** The fit part before the cut-off and what the scored customers bought from then on. */
export interface TemporalValidation {
  /** Epoch ms: fit on interactions before it, score purchases from it on. */
  cutoff: number;
  /** Interactions before the cut-off. */
  interactions: Interaction[];
  /** Their matrix, over the whole data's items in its order (so a chosen fit maps onto the bundle's). */
  fit: InteractionMatrix;
  /** Per fit row, what the worker would not recommend them: purchases and cart (eval/exclusions.ts). */
  exclusions: SparseMatrix;
  /** Per fit row with relevant purchases: new items bought from the cut-off on. */
  relevant: Map<number, RelevantItems>;
  /** Distinct customers per item before the cut-off: the list fill, and EASE's popularity scale. */
  popularity: Float64Array;
  /** Users scored: customers before the cut-off who bought something new to them after it. */
  users: number;
  /** eval's protocol line for the split. */
  description: string;
}

/**
 * The temporal validation of `interactions` over `items` (the bundle's item order). The cut-off is the
 * day by which `share` of them happened; when that day is the first (data spanning less than a day, as
 * in small tests) the exact moment instead, so that something is left to fit on. With `identities`
 * (events data), browsers are stitched to shoppers only by the links seen before the cut-off, on
 * copies: a sign-in after it is not known to a model fitted then (data/identities.ts).
 */
export function temporalValidation(
  interactions: readonly Interaction[],
  items: string[],
  share = VALIDATION_TRAIN_SHARE,
  identities?: IdentityLinks,
): TemporalValidation {
  let list = interactions as Interaction[];
  let cutoff = quantileCutoff(list, share);
  if (!list.some((it) => isSignal(it) && it.time < cutoff)) {
    const times = list
      .filter(isSignal)
      .map((it) => it.time)
      .sort((a, b) => a - b);
    cutoff = times[Math.min(times.length - 1, Math.floor(share * times.length))] ?? 0;
  }
  if (identities) {
    list = list.map((it) => (it.anonymousId === undefined ? it : { ...it }));
    stitchIdentities(list, identities, undefined, cutoff);
  }
  const split = temporalSplit(list, cutoff);
  const fit = aggregate(split.train, { items });
  const relevant = relevantSets(fit, split.test);
  // Users with nothing the model could rank (every purchase of an item unseen before) still count
  // as 0, as in eval; but a customer with no fit row gets no list, and is not in `relevant`.
  return {
    cutoff,
    interactions: split.train,
    fit,
    exclusions: servedExclusions(fit, split.train),
    relevant,
    popularity: itemPopularity(fit.matrix),
    users: relevant.size,
    description: split.description,
  };
}

/** Product families by item index, as the worker caps lists (catalogue `category`). */
export type Families = ReadonlyArray<Pick<CatalogueItem, 'category'>>;

/** Validation nDCG@10 of `body` on the lists the worker would serve (eval's scorer). */
export async function temporalValidationNdcg(
  name: string,
  body: ScoringBody,
  v: TemporalValidation,
  families?: Families,
): Promise<number> {
  const onnx = buildRecommenderGraph({
    name: `${name}-validation`,
    items: v.fit.items.length,
    k: Math.min(MODEL_TOP_K, v.fit.items.length),
    body,
    producerVersion: 'validation',
  });
  const m = v.fit.matrix;
  return (await evaluateOnnx(name, onnx, m, v.relevant, v.popularity, 10, v.exclusions, families)).ndcg;
}

/**
 * The same validation as the Mult-DAE's early-stopping split: it trains on every customer's rows
 * before the cut-off (what came before is no leak), and its epochs are scored on the scored
 * customers' rows before the cut-off against the new items they bought after it.
 */
export function asValidationSplit(v: TemporalValidation): ValidationSplit {
  const m = v.fit.matrix;
  const rows = [...v.relevant.keys()];
  return {
    train: Array.from({ length: m.rows }, (_, r) => r),
    validation: {
      heldOut: rows.map((r) => v.relevant.get(r)?.items ?? new Set<number>()),
      foldIn: selectRows(m, rows),
      excluded: selectRows(v.exclusions, rows),
    },
  };
}

/** The rows `rows` of `m`, in that order. */
function selectRows(m: SparseMatrix, rows: readonly number[]): SparseMatrix {
  const rowPtr = new Int32Array(rows.length + 1);
  const cols: number[] = [];
  const values: number[] = [];
  rows.forEach((r, i) => {
    forEachInRow(m, r, (c, value) => {
      cols.push(c);
      values.push(value);
    });
    rowPtr[i + 1] = cols.length;
  });
  return {
    rows: rows.length,
    cols: m.cols,
    rowPtr,
    colIdx: Int32Array.from(cols),
    values: Float32Array.from(values),
  };
}
