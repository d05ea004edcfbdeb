/**
 * The `personal` model. By default (`auto`) both candidates are trained on the same
 * training/validation split — closed-form EASE (λ chosen on the validation users) and the Mult-DAE
 * trained with TF.js (per-epoch lines, early stopping on the same users) — both are scored as their
 * exported ONNX graphs on those users, and the better one ships: on Online Retail EASE wins
 * (`npm run eval`), but which wins depends on the data, and the comparison is recorded in the
 * manifest rather than assumed. `ease`, `autoencoder` and `item-item` train just that model.
 */
import type { PlannedGraph } from '../bundle/write-bundle';
import type { SparseMatrix } from '../data/matrix';
import { seededRandom } from '../math/random';
import { trainEase } from '../models/ease';
import { selectEaseLambda } from '../models/ease-lambda';
import { trainItemItem } from '../models/item-item';
import { trainMultDae } from '../models/mult-dae';
import { onnxValidationNdcg } from '../models/onnx-validation';
import { scoredUsers, splitValidation, type ValidationSplit } from '../models/validation';
import type { ScoringBody } from '../onnx/recommender-graphs';
import { initBackend } from '../tfjs/backend';

/** The personal models `--personal` accepts. */
export const PERSONAL_MODELS = ['auto', 'ease', 'autoencoder', 'item-item'] as const;
/** One of PERSONAL_MODELS. */
export type PersonalModel = (typeof PERSONAL_MODELS)[number];

/** Whether `value` names a personal model. */
export function isPersonalModel(value: string): value is PersonalModel {
  return (PERSONAL_MODELS as readonly string[]).includes(value);
}

/** Options of the personal model. */
export interface PersonalOptions {
  personal?: PersonalModel;
  hidden?: number;
  epochs?: number;
  seed?: number;
  /** EASE's λ; default: chosen on held-out users from LAMBDA_GRID. */
  lambda?: number;
  /** Rank of factorised models (EASE above 1,000 items). */
  rank?: number;
}

type Params = Record<string, number | string | boolean>;

/** Up to this many items EASE and item-item are exact and dense; above, factorised at `rank`. */
const PERSONAL_MAX_DENSE_ITEMS = 1000;
/** The Mult-DAE's hidden size when `hidden` is not given. */
const DEFAULT_HIDDEN = 200;

/**
 * The graph `trainPersonal` will export for `items` items, as far as its size goes (for the bundle's
 * size check before training); for `auto`, both candidates.
 */
export function personalGraphs(options: PersonalOptions, items: number): PlannedGraph[] {
  const closedForm: PlannedGraph = { kind: items <= PERSONAL_MAX_DENSE_ITEMS ? 'dense' : 'factorized' };
  const autoencoder: PlannedGraph = { kind: 'autoencoder', hidden: options.hidden ?? DEFAULT_HIDDEN };
  switch (options.personal ?? 'auto') {
    case 'item-item':
    case 'ease':
      return [closedForm];
    case 'autoencoder':
      return [autoencoder];
    case 'auto':
      return [closedForm, autoencoder];
  }
}

/** A trained personal model, its manifest params and metrics, and the TF.js backend that ran (if any). */
export interface PersonalResult {
  body: ScoringBody;
  params: Params;
  backend: string;
  /** Manifest `metrics` entries (model name → metric → value). */
  metrics?: Record<string, Record<string, number>>;
}

const CLOSED_FORM = 'none (closed form)';
const round4 = (value: number) => Number(value.toFixed(4));

/** Trains the personal model `options.personal` (default `auto`). */
export async function trainPersonal(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
): Promise<PersonalResult> {
  const personal = options.personal ?? 'auto';
  if (personal === 'item-item') {
    // The same rank as the similar and complements graphs (`--rank`) above 1,000 items.
    const body = trainItemItem(x, { rank: options.rank ?? 128, maxDenseItems: PERSONAL_MAX_DENSE_ITEMS });
    log(`personal model: item-item cosine${body.kind === 'factorized' ? ` (rank ${body.rank})` : ''}`);
    return {
      body,
      params: { model: 'item-item', ...(body.kind === 'factorized' ? { rank: body.rank } : {}) },
      backend: CLOSED_FORM,
    };
  }
  if (personal === 'ease') return easePersonal(x, options, log);
  if (personal === 'autoencoder') {
    const result = await trainAutoencoder(x, options, log);
    // trainMultDae splits off its validation users itself, with the first draws of the seed: the same
    // split as this one, made again only to count them. Its score is the best epoch's (TF.js).
    const users = scoredUsers(seededSplit(x, options).validation);
    const metrics = validationMetrics('mult-dae', result.params.validationNdcg10, users);
    return { ...result, ...(metrics ? { metrics } : {}) };
  }
  return autoPersonal(x, options, log);
}

/** EASE's λ (given, or chosen on the split's validation users) and its validation nDCG@10. */
async function easeLambda(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
  split?: ValidationSplit,
): Promise<{ lambda: number; validationNdcg?: number }> {
  // With a given λ and no comparison to make, nothing needs scoring.
  if (options.lambda !== undefined && !split) return { lambda: options.lambda };
  const selection = await selectEaseLambda(x, {
    rank: options.rank ?? 128,
    maxDenseItems: PERSONAL_MAX_DENSE_ITEMS,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.lambda !== undefined ? { grid: [options.lambda] } : {}),
    ...(split ? { split } : {}),
  });
  const validationNdcg = selection.scores.find((s) => s.lambda === selection.lambda)?.ndcg;
  if (selection.scores.length > 1)
    log(
      `EASE λ by validation nDCG@10: ${selection.scores.map((s) => `${s.lambda} → ${s.ndcg.toFixed(4)}`).join(', ')}`,
    );
  return { lambda: selection.lambda, ...(validationNdcg !== undefined ? { validationNdcg } : {}) };
}

/** Fits EASE on all of `x` with λ and describes it. */
function fitEase(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
  lambda: number,
  validationNdcg: number | undefined,
): PersonalResult {
  const body = trainEase(x, { lambda, rank: options.rank ?? 128, maxDenseItems: PERSONAL_MAX_DENSE_ITEMS });
  log(
    `personal model: EASE (λ ${lambda}, ${body.kind === 'factorized' ? `rank ${body.rank}` : 'exact, dense'})`,
  );
  return {
    body,
    params: {
      model: 'ease',
      lambda,
      ...(body.kind === 'factorized' ? { rank: body.rank } : { exact: true }),
      ...(validationNdcg !== undefined ? { validationNdcg10: round4(validationNdcg) } : {}),
    },
    backend: CLOSED_FORM,
  };
}

/**
 * Manifest `metrics` for one personal model's validation score: `personal/ease` or `personal/mult-dae`
 * (the keys `auto` writes for its two candidates), none when no user could be validated on.
 */
function validationMetrics(
  model: 'ease' | 'mult-dae',
  ndcg: number | undefined,
  users: number,
): PersonalResult['metrics'] {
  if (ndcg === undefined || users === 0) return undefined;
  return { [`personal/${model}`]: { validationNdcg10: round4(ndcg), validationUsers: users } };
}

/** The validation split of `options.seed` (`auto`'s, EASE's λ search's and the Mult-DAE's own). */
function seededSplit(x: SparseMatrix, options: PersonalOptions): ValidationSplit {
  return splitValidation(x, 0.1, seededRandom(options.seed ?? 42));
}

async function easePersonal(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
): Promise<PersonalResult> {
  // λ is chosen on held-out users unless given; its score is the model's validation metric. (The same
  // split selectEaseLambda made for itself, made here to count its users for the manifest.)
  const split = options.lambda === undefined ? seededSplit(x, options) : undefined;
  const { lambda, validationNdcg } = await easeLambda(x, options, log, split);
  const metrics = validationMetrics('ease', validationNdcg, split ? scoredUsers(split.validation) : 0);
  return { ...fitEase(x, options, log, lambda, validationNdcg), ...(metrics ? { metrics } : {}) };
}

/** Trains the Mult-DAE with TF.js (per-epoch lines, early stopping on the validation users). */
async function trainAutoencoder(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
  split?: ValidationSplit,
): Promise<
  PersonalResult & { params: Params & { bestEpoch: number; epochs: number; validationNdcg10: number } }
> {
  const backend = await initBackend();
  log(`${split ? 'candidate' : 'personal model'}: Mult-DAE on TF.js backend ${backend}`);
  const result = await trainMultDae(x, {
    hidden: options.hidden ?? DEFAULT_HIDDEN,
    ...(options.epochs ? { epochs: options.epochs } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(split ? { split } : {}),
    log,
  });
  const params = {
    model: 'mult-dae',
    hidden: result.body.hidden,
    epochs: result.epochs.length,
    bestEpoch: result.bestEpoch,
    validationNdcg10: round4(result.epochs[result.bestEpoch - 1]?.validationNdcg ?? 0),
  };
  return { body: result.body, params, backend };
}

/** Trains EASE and the Mult-DAE on one split, scores both as ONNX graphs, keeps the better one. */
async function autoPersonal(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
): Promise<PersonalResult> {
  const split = seededSplit(x, options);
  // The users both scores are computed on: validation users with a held-out item. (The split's
  // fold-in rows, counted before, took in those whose random hold-out was empty.)
  const users = scoredUsers(split.validation);
  if (users === 0) {
    // Nobody has the ≥ 5 items validation needs (or none of them had an item held out): nothing to
    // compare on or to stop early with.
    log('personal auto: no user has enough items to validate on; EASE (closed form) without comparison');
    return easePersonal(x, options, log);
  }
  log(`personal auto: training EASE and Mult-DAE on one split (${users} validation users)`);
  const ease = await easeLambda(x, options, log, split);
  const easeNdcg = ease.validationNdcg ?? 0;
  const dae = await trainAutoencoder(x, options, log, split);
  // The TF.js epoch score decided early stopping; the ONNX score is what the worker would serve.
  const daeNdcg = await onnxValidationNdcg('mult-dae', dae.body, split.validation);
  // Ties go to EASE: closed form, deterministic, cheaper to retrain.
  const winner = daeNdcg > easeNdcg ? 'mult-dae' : 'ease';
  log(
    `personal auto: validation nDCG@10 (ONNX, ${users} users): EASE (λ ${ease.lambda}) ${easeNdcg.toFixed(4)} vs Mult-DAE (epoch ${dae.params.bestEpoch}) ${daeNdcg.toFixed(4)} → ${winner === 'ease' ? 'EASE' : 'Mult-DAE'}`,
  );
  const comparison: Params = {
    selection: 'auto',
    validationUsers: users,
    easeLambda: ease.lambda,
    easeValidationNdcg10: round4(easeNdcg),
    multDaeBestEpoch: dae.params.bestEpoch,
    multDaeValidationNdcg10: round4(daeNdcg),
  };
  const metrics = {
    'personal/ease': { validationNdcg10: round4(easeNdcg), validationUsers: users },
    'personal/mult-dae': { validationNdcg10: round4(daeNdcg), validationUsers: users },
  };
  if (winner === 'mult-dae') {
    log(`personal model: Mult-DAE (epoch ${dae.params.bestEpoch} of ${dae.params.epochs})`);
    return {
      body: dae.body,
      params: { ...dae.params, ...comparison, validationNdcg10: round4(daeNdcg) },
      backend: dae.backend,
      metrics,
    };
  }
  const chosen = fitEase(x, options, log, ease.lambda, easeNdcg);
  return {
    ...chosen,
    params: { ...chosen.params, ...comparison },
    // TF.js did run (for the comparison), though the shipped model is closed form.
    backend: `${CLOSED_FORM}; Mult-DAE candidate on TF.js ${dae.backend}`,
    metrics,
  };
}
