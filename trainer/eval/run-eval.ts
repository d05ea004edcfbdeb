/**
 * `npm run eval`: trains every model on the training part of a split, exports each to ONNX and
 * scores the exported files with onnxruntime-web (evaluate.ts), so the table describes what the
 * worker would serve.
 *  - movielens: the Microsoft Recommenders protocol (stratified 75/25 split, top-10 excluding
 *    training items, every test item relevant).
 *  - online-retail, events, mongodb: a temporal split with catalogue coverage.
 */

import { ACTIVITY_DAYS_DEFAULT, ACTIVITY_DAYS_SIGNED_IN_DEFAULT } from '../../contracts/activity';
import { buildCatalogue } from '../bundle/catalogue';
import { type IdentityLinks, stitchIdentities } from '../data/identities';
import { InputError } from '../data/lines';
import { type AggregateOptions, aggregate, type InteractionMatrix, type SparseMatrix } from '../data/matrix';
import { type Format, openSource, readAll } from '../data/sources';
import { type Interaction, isSignal } from '../data/types';
import { trainItemItem } from '../models/item-item';
import { itemPopularity, trainPopularity } from '../models/popularity';
import { buildRecommenderGraph, type ScoringBody } from '../onnx/recommender-graphs';
import { type PersonalOptions, trainPersonal } from '../pipeline/personal';
import { MODEL_TOP_K } from '../pipeline/train';
import { evaluateOnnx, type ModelScore, relevantSets } from './evaluate';
import { servedExclusions } from './exclusions';
import { activityLifetimes, servedHistories } from './served-history';
import {
  parseCutoff,
  quantileCutoff,
  SERVED_NEEDS_TEMPORAL_SPLIT,
  type Split,
  stratifiedSplit,
  temporalSplit,
} from './split';

/** Options of an evaluation run. */
export interface EvalOptions extends PersonalOptions {
  format: Format;
  input: string;
  /** Temporal cut-off (ISO date) for non-movielens formats; default: the day by which 90 % happened. */
  cutoff?: string;
  k?: number;
  seed?: number;
  /**
   * Recency half-life in days: each training interaction counts 2^(−age / half-life), its age taken
   * from the newest training interaction. None by default (docs/trainer.md "Recency").
   */
  halfLifeDays?: number;
  /**
   * What the models rank from: each user's whole training row (`full`, default, the protocol), or
   * the history the worker would hold at the cut-off (`served`: recent activity only, none after a
   * month away; temporal splits only).
   */
  history?: 'full' | 'served';
  /**
   * With `history: 'served'`: days activity lives after every shopper's last event (default: the
   * worker's, 365 for signed-in shoppers and 30 for those who never signed in).
   */
  activityDays?: number;
  log?: (line: string) => void;
}

/** What `npm run eval` prints and writes. */
export interface EvalResult {
  format: Format;
  protocol: string;
  k: number;
  data: {
    interactions: number;
    trainInteractions: number;
    testInteractions: number;
    users: number;
    items: number;
    testUsers: number;
  };
  backend: string;
  rows: ModelScore[];
  trainSeconds: Record<string, number>;
  /**
   * What each trained model was fitted with, as its validation chose it (EASE's λ, half-life and
   * popularity exponent; the Mult-DAE's epoch count): the table's numbers are only reproducible
   * with these, and they are chosen inside the training part, so a re-run may pick differently.
   */
  modelParams: Record<string, Record<string, unknown>>;
}

/** `aggregate`'s recency options: a half-life, ages from the newest interaction of `interactions`. */
export function recency(
  halfLifeDays: number | undefined,
  interactions: readonly Interaction[],
): AggregateOptions {
  if (halfLifeDays === undefined) return {};
  let now = Number.NEGATIVE_INFINITY;
  for (const interaction of interactions) if (isSignal(interaction)) now = Math.max(now, interaction.time);
  return { halfLifeDays, now };
}

/**
 * The split, and for a temporal one its cut-off (epoch ms). Events data (with `identities`) is
 * stitched again with only the links seen before the cut-off: a browser whose shopper signed in after
 * it was, at the cut-off, nobody's yet. Stitched with every link, as `readAll` does, its browsing
 * joined a customer the models then knew and were scored on, from a sign-in still to come.
 */
export function evaluationSplit(
  options: Pick<EvalOptions, 'format' | 'cutoff' | 'seed'>,
  all: Interaction[],
  identities?: IdentityLinks,
  log: (line: string) => void = () => {},
): Split & { cutoff?: number } {
  if (options.format === 'movielens') {
    // Not ignored: the caller would record a cut-off the split never used.
    if (options.cutoff !== undefined)
      throw new InputError(
        'a cut-off does not apply to movielens: its protocol splits at random, not by date',
      );
    return stratifiedSplit(all, 0.75, options.seed ?? 42);
  }
  const cutoff = options.cutoff ? parseCutoff(options.cutoff) : quantileCutoff(all);
  if (identities) {
    const stitched = stitchIdentities(all, identities, undefined, cutoff);
    log(
      `identity stitching at the cut-off, with the links seen before it: ${stitched.merged} anonymous id(s) joined ${stitched.users} shopper(s)`,
    );
  }
  return { ...temporalSplit(all, cutoff), cutoff };
}

/**
 * The rows each model ranks from and what it must not recommend: the training rows themselves
 * (`full`, the protocol), or what the worker would hold at the cut-off (`served`, served-history.ts).
 */
function rankedHistories(
  options: EvalOptions,
  train: InteractionMatrix,
  s: Split & { cutoff?: number },
  log: (line: string) => void,
): { histories: SparseMatrix; masks: SparseMatrix } {
  // What the worker excludes (purchases and cart: eval/exclusions.ts); every row of an order history.
  if (options.history !== 'served')
    return { histories: train.matrix, masks: servedExclusions(train, s.train) };
  if (s.cutoff === undefined) throw new InputError(SERVED_NEEDS_TEMPORAL_SPLIT);
  const served = servedHistories(train, s.train, s.cutoff, activityLifetimes(options.activityDays));
  const days =
    options.activityDays === undefined
      ? `${ACTIVITY_DAYS_SIGNED_IN_DEFAULT} days (${ACTIVITY_DAYS_DEFAULT} for shoppers who never signed in)`
      : `${options.activityDays} days`;
  log(
    `history served: as the worker would hold it at the cut-off, activity kept ${days} after a shopper's last event; ${served.expired} of ${train.users.length} training users' activity had expired`,
  );
  return served;
}

/** How many candidates each list is built from: the bundle's graph depth, as the worker serves them. */
export function candidateDepth(k: number): number {
  return Math.max(k, MODEL_TOP_K);
}

/** Runs the evaluation. */
export async function runEvaluation(options: EvalOptions): Promise<EvalResult> {
  const log = options.log ?? (() => {});
  const k = options.k ?? 10;
  const source = await openSource(options.format, options.input);
  const all = await readAll(source);
  log(source.report.summary());
  if (all.length === 0) throw new InputError('no usable interactions in the input');
  const s = evaluationSplit(options, all, source.identities, log);
  log(`split: ${s.description}; ${s.train.length} train / ${s.test.length} test interactions`);
  const train = aggregate(s.train, recency(options.halfLifeDays, s.train));
  const ranked = rankedHistories(options, train, s, log);
  // The protocol's relevant items in every mode, so that rows compare: what the customer buys after
  // the cut-off that they had no interaction with before it (docs/trainer.md "Evaluation").
  const relevant = relevantSets(train, s.test);
  if (relevant.size === 0)
    throw new InputError('the split left no test user with test items; try another --cutoff');
  log(`${train.users.length} users, ${train.items.length} items in training; ${relevant.size} test users`);

  const trainSeconds: Record<string, number> = {};
  const timed = async (name: string, fn: () => Promise<ScoringBody> | ScoringBody): Promise<ScoringBody> => {
    const t = performance.now();
    const body = await fn();
    trainSeconds[name] = Number(((performance.now() - t) / 1000).toFixed(1));
    return body;
  };
  let backend = 'none';
  // Where a model has no evidence, lists are filled by popularity in training, as the worker does.
  const popularity = itemPopularity(train.matrix);
  // Lists as the worker builds them: the bundle's graph depth of candidates, and at most 40 % of a row
  // from one product family, the families read from the items' titles as `train` writes them into
  // the catalogue (without titles, movielens's u.data, every item is in one family and nothing moves).
  const families = buildCatalogue(train.items, source.items, popularity);
  // EASE as `train` ships it: its configuration chosen on a temporal validation inside the training
  // part (never on the test set), refitted on the whole training part; and the best plain EASE (no
  // decay, no popularity scale) from the same validation, for comparison.
  let plainEase: ScoringBody | undefined;
  const modelParams: Record<string, Record<string, unknown>> = {};
  const personalData = { byUser: train, interactions: s.train, families, identities: source.identities };
  const ease = await timed('EASE', async () => {
    const result = await trainPersonal(
      personalData,
      { ...options, personal: 'ease', withPlainEase: true },
      log,
    );
    plainEase = result.plainEase?.body;
    modelParams.EASE = result.params;
    if (result.plainEase) {
      const { lambda, ndcg } = result.plainEase.config;
      modelParams['EASE plain (no decay)'] = { lambda, validationNdcg10: Number(ndcg.toFixed(4)) };
    }
    return result.body;
  });
  const bodies: Array<[string, ScoringBody]> = [
    ['popularity', await timed('popularity', () => trainPopularity(train.matrix))],
    [
      'item-item cosine',
      // As `train` builds it: the bundle's rank, and the eigensolver's own seed (7), which `--seed`
      // (the split's) does not change.
      await timed('item-item cosine', () =>
        trainItemItem(train.matrix, options.rank === undefined ? {} : { rank: options.rank }),
      ),
    ],
    ...(plainEase ? [['EASE plain (no decay)', plainEase] as [string, ScoringBody]] : []),
    ['EASE', ease],
    [
      'Mult-DAE (TF.js)',
      await timed('Mult-DAE (TF.js)', async () => {
        const personal = await trainPersonal(personalData, { ...options, personal: 'autoencoder' }, log);
        backend = personal.backend;
        modelParams['Mult-DAE (TF.js)'] = personal.params;
        return personal.body;
      }),
    ],
  ];
  const rows: ModelScore[] = [];
  for (const [name, body] of bodies) {
    const onnx = buildRecommenderGraph({
      name,
      items: train.items.length,
      k: candidateDepth(k),
      body,
      producerVersion: 'eval',
    });
    const score = await evaluateOnnx(
      name,
      onnx,
      ranked.histories,
      relevant,
      popularity,
      k,
      ranked.masks,
      families,
    );
    log(`${name}: nDCG@${k} ${score.ndcg.toFixed(4)}`);
    rows.push(score);
  }
  return {
    format: options.format,
    protocol: s.description,
    k,
    data: {
      interactions: all.length,
      trainInteractions: s.train.length,
      testInteractions: s.test.length,
      users: train.users.length,
      items: train.items.length,
      testUsers: relevant.size,
    },
    backend,
    rows,
    trainSeconds,
    modelParams,
  };
}
