/**
 * The `personal` model. Candidates are chosen on a temporal validation (models/temporal-validation.ts:
 * fit before a cut-off, score the next purchases on the lists the worker serves), then refitted on all
 * the data. By default (`auto`) both candidates run on it — closed-form EASE (λ, recency half-life and
 * popularity exponent chosen on it) and the Mult-DAE trained with TF.js (per-epoch lines, early
 * stopping on the same customers) — and the better one ships: on Online Retail EASE wins
 * (`npm run eval`), but which wins depends on the data, and the comparison is recorded in the
 * manifest rather than assumed. `ease`, `autoencoder` and `item-item` train just that model.
 */
import type { PlannedGraph } from '../bundle/write-bundle';
import type { IdentityLinks } from '../data/identities';
import type { InteractionMatrix } from '../data/matrix';
import { type Interaction, isSignal } from '../data/types';
import { type EaseConfig, fitEaseConfig } from '../models/ease-config';
import {
  type EaseSelection,
  halfLifeLabel,
  type ScoredConfig,
  selectEaseConfig,
  selectionLines,
} from '../models/ease-selection';
import { trainItemItem } from '../models/item-item';
import { trainMultDae } from '../models/mult-dae';
import { itemPopularity } from '../models/popularity';
import {
  asValidationSplit,
  type Families,
  type TemporalValidation,
  temporalValidation,
  temporalValidationNdcg,
} from '../models/temporal-validation';
import type { ValidationSplit } from '../models/validation';
import type { ScoringBody } from '../onnx/recommender-graphs';
import { initBackend } from '../tfjs/backend';

import type { PersonalModel } from './personal-models';

export { isPersonalModel, PERSONAL_MODELS, type PersonalModel } from './personal-models';

/** Options of the personal model. */
export interface PersonalOptions {
  personal?: PersonalModel;
  hidden?: number;
  epochs?: number;
  seed?: number;
  /** EASE's λ; default: chosen on the temporal validation from LAMBDA_GRID. */
  lambda?: number;
  /** EASE's recency half-life in days, `null` for none; default: chosen from HALF_LIFE_GRID. */
  easeHalfLifeDays?: number | null;
  /** EASE's popularity exponent; default: chosen from POPULARITY_EXPONENT_GRID. */
  popularityExponent?: number;
  /** Also fit the best plain EASE (no decay, exponent 0) for comparison (`eval`). */
  withPlainEase?: boolean;
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

/** What the personal model is trained on. */
export interface PersonalData {
  /** User × item matrix of all the data (the shipped fit). */
  byUser: InteractionMatrix;
  /**
   * The interactions it was aggregated from (their times: validation cut-off, recency), with the
   * removals from the cart, for the cart the validation masks.
   */
  interactions: readonly Interaction[];
  /** Product families by item index, to cap validation lists as the worker does. */
  families?: Families;
  /** Events data: the identity links, so the validation stitches with those known by its cut-off. */
  identities?: IdentityLinks;
}

/** A trained personal model, its manifest params and metrics, and the TF.js backend that ran (if any). */
export interface PersonalResult {
  body: ScoringBody;
  params: Params;
  backend: string;
  /** Manifest `metrics` entries (model name → metric → value). */
  metrics?: Record<string, Record<string, number>>;
  /** With `withPlainEase`: the best plain EASE refitted on all data, and its validation choice. */
  plainEase?: { body: ScoringBody; config: ScoredConfig };
}

const CLOSED_FORM = 'none (closed form)';

/**
 * Fewest customers the temporal validation must score before `auto` compares its two models and EASE
 * chooses among its settings on them. Per customer nDCG@10 is mostly 0 with a few hits, so on fewer
 * the differences between candidates are noise (a new shop's first weeks of events: the demo stack's
 * 2,500 events gave 1 customer to score, and Mult-DAE "won" 0.63 to 0.00 on that one). Below it EASE
 * ships with the default settings, as with no customer at all.
 */
export const MIN_VALIDATION_CUSTOMERS = 30;
const round4 = (value: number) => Number(value.toFixed(4));
const EASE_OPTIONS = (options: PersonalOptions) => ({
  rank: options.rank ?? 128,
  maxDenseItems: PERSONAL_MAX_DENSE_ITEMS,
});

/** Trains the personal model `options.personal` (default `auto`). */
export async function trainPersonal(
  data: PersonalData,
  options: PersonalOptions,
  log: (line: string) => void,
): Promise<PersonalResult> {
  const personal = options.personal ?? 'auto';
  const x = data.byUser.matrix;
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
  const pinned =
    options.lambda !== undefined &&
    options.easeHalfLifeDays !== undefined &&
    options.popularityExponent !== undefined;
  // Nothing to choose for `--personal ease` with every setting given: no validation, no metric.
  const v = personal === 'ease' && pinned && !options.withPlainEase ? undefined : validationOf(data, log);
  if (personal === 'ease') {
    if (v && v.users > 0 && v.users < MIN_VALIDATION_CUSTOMERS)
      log(
        `personal ease: only ${v.users} customers to validate on (fewer than ${MIN_VALIDATION_CUSTOMERS}); EASE with the default settings`,
      );
    return easePersonal(data, options, log, v);
  }
  if (personal === 'autoencoder') {
    const result = await autoencoderPersonal(data, options, log, v);
    return result;
  }
  return autoPersonal(data, options, log, v);
}

/** The temporal validation of the data, logged. */
function validationOf(data: PersonalData, log: (line: string) => void): TemporalValidation | undefined {
  if (data.interactions.length === 0) return undefined;
  const v = temporalValidation(data.interactions, data.byUser.items, undefined, data.identities);
  log(`validation: ${v.description}; ${v.users} customers to score`);
  return v;
}

/** EASE's configuration: given, or chosen on the temporal validation, with its score. */
async function easeChoice(
  data: PersonalData,
  options: PersonalOptions,
  log: (line: string) => void,
  v: TemporalValidation | undefined,
): Promise<{ config: EaseConfig; selection?: EaseSelection }> {
  const fallback: EaseConfig = {
    lambda: options.lambda ?? 100,
    halfLifeDays: options.easeHalfLifeDays ?? null,
    popularityExponent: options.popularityExponent ?? 0,
  };
  if (!v || v.users < MIN_VALIDATION_CUSTOMERS) return { config: fallback };
  const selection = await selectEaseConfig(
    v,
    {
      ...(options.lambda !== undefined ? { lambdas: [options.lambda] } : {}),
      ...(options.easeHalfLifeDays !== undefined ? { halfLives: [options.easeHalfLifeDays] } : {}),
      ...(options.popularityExponent !== undefined ? { exponents: [options.popularityExponent] } : {}),
    },
    { ...EASE_OPTIONS(options), ...(data.families ? { families: data.families } : {}) },
  );
  for (const line of selectionLines(selection)) log(line);
  const { best } = selection;
  return {
    config: {
      lambda: best.lambda,
      halfLifeDays: best.halfLifeDays,
      popularityExponent: best.popularityExponent,
    },
    selection,
  };
}

/** Fits EASE's configuration on all the data, ages relative to the data's end. */
function fitEase(data: PersonalData, options: PersonalOptions, config: EaseConfig): ScoringBody {
  let end = Number.NEGATIVE_INFINITY;
  for (const it of data.interactions) if (isSignal(it)) end = Math.max(end, it.time);
  return fitEaseConfig(
    data.byUser,
    data.interactions,
    config,
    end,
    itemPopularity(data.byUser.matrix),
    EASE_OPTIONS(options),
  );
}

/** EASE's manifest params: its configuration and validation. */
function easeParams(
  body: ScoringBody,
  config: EaseConfig,
  v: TemporalValidation | undefined,
  ndcg?: number,
): Params {
  return {
    model: 'ease',
    lambda: config.lambda,
    halfLifeDays: config.halfLifeDays ?? 'none',
    popularityExponent: config.popularityExponent,
    ...(body.kind === 'factorized' ? { rank: body.rank } : { exact: true }),
    ...(ndcg !== undefined && v
      ? {
          validationNdcg10: round4(ndcg),
          validation: 'temporal',
          validationCutoff: new Date(v.cutoff).toISOString(),
        }
      : {}),
  };
}

function describeEase(body: ScoringBody, config: EaseConfig): string {
  return `EASE (λ ${config.lambda}, ${halfLifeLabel(config.halfLifeDays)}, popularity^−${config.popularityExponent}, ${body.kind === 'factorized' ? `rank ${body.rank}` : 'exact, dense'})`;
}

/**
 * Manifest `metrics` for one personal model's validation score: `personal/ease` or `personal/mult-dae`
 * (the keys `auto` writes for its two candidates); `personal/ease-plain`, the best EASE without decay
 * or popularity scale on the same customers. None when no customer could be scored.
 */
function validationMetrics(
  entries: Array<['ease' | 'mult-dae' | 'ease-plain', number | undefined, Record<string, number>?]>,
  users: number,
): PersonalResult['metrics'] {
  if (users === 0) return undefined;
  const out: NonNullable<PersonalResult['metrics']> = {};
  for (const [model, ndcg, extra] of entries)
    if (ndcg !== undefined)
      out[`personal/${model}`] = { validationNdcg10: round4(ndcg), validationUsers: users, ...extra };
  return Object.keys(out).length > 0 ? out : undefined;
}

/** EASE's metric entries: the chosen configuration and the best plain one. */
function easeMetricEntries(selection: EaseSelection | undefined) {
  if (!selection) return [];
  const { best, plain } = selection;
  return [
    ['ease', best.ndcg] as const,
    ...(plain ? [['ease-plain', plain.ndcg, { lambda: plain.lambda }] as const] : []),
  ].map((e) => [...e] as ['ease' | 'ease-plain', number, Record<string, number>?]);
}

async function easePersonal(
  data: PersonalData,
  options: PersonalOptions,
  log: (line: string) => void,
  v: TemporalValidation | undefined,
): Promise<PersonalResult> {
  if (v && v.users === 0) log('personal ease: no customer to validate on; EASE with the default settings');
  const { config, selection } = await easeChoice(data, options, log, v);
  const body = fitEase(data, options, config);
  log(`personal model: ${describeEase(body, config)}`);
  const metrics = validationMetrics(easeMetricEntries(selection), v?.users ?? 0);
  return {
    body,
    params: easeParams(body, config, v, selection?.best.ndcg),
    backend: CLOSED_FORM,
    ...(metrics ? { metrics } : {}),
    ...plainEase(data, options, selection),
  };
}

/** With `withPlainEase`, the best plain configuration refitted on all data (eval's comparison row). */
function plainEase(data: PersonalData, options: PersonalOptions, selection: EaseSelection | undefined) {
  if (!options.withPlainEase || !selection?.plain) return {};
  return { plainEase: { body: fitEase(data, options, selection.plain), config: selection.plain } };
}

/** Trains the Mult-DAE with TF.js (per-epoch lines, early stopping on the validation customers). */
async function trainAutoencoder(
  data: PersonalData,
  options: PersonalOptions,
  log: (line: string) => void,
  v: TemporalValidation | undefined,
  candidate: boolean,
): Promise<
  PersonalResult & { params: Params & { bestEpoch: number; epochs: number }; validationNdcg?: number }
> {
  const backend = await initBackend();
  log(`${candidate ? 'candidate' : 'personal model'}: Mult-DAE on TF.js backend ${backend}`);
  const split: ValidationSplit | undefined = v && v.users > 0 ? asValidationSplit(v) : undefined;
  const common = {
    hidden: options.hidden ?? DEFAULT_HIDDEN,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    log,
  };
  // Early stopping on the customers' next purchases, trained on the data before the cut-off.
  const result = await trainMultDae(split && v ? v.fit.matrix : data.byUser.matrix, {
    ...common,
    ...(options.epochs ? { epochs: options.epochs } : {}),
    ...(split ? { split } : { refit: true }),
  });
  const validationNdcg =
    v && split ? await temporalValidationNdcg('mult-dae', result.body, v, data.families) : undefined;
  const params = {
    model: 'mult-dae',
    hidden: result.body.hidden,
    epochs: result.epochs.length,
    bestEpoch: result.bestEpoch,
    ...(validationNdcg !== undefined && v
      ? {
          validationNdcg10: round4(validationNdcg),
          validation: 'temporal',
          validationCutoff: new Date(v.cutoff).toISOString(),
        }
      : {}),
  };
  return { body: result.body, params, backend, ...(validationNdcg !== undefined ? { validationNdcg } : {}) };
}

/** Refits a validated Mult-DAE on all the data for its best epoch count (only if it ships). */
async function refitAutoencoder(
  data: PersonalData,
  options: PersonalOptions,
  log: (line: string) => void,
  epochs: number,
): Promise<ScoringBody> {
  const result = await trainMultDae(data.byUser.matrix, {
    hidden: options.hidden ?? DEFAULT_HIDDEN,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    epochs,
    refit: true,
    log,
  });
  return result.body;
}

async function autoencoderPersonal(
  data: PersonalData,
  options: PersonalOptions,
  log: (line: string) => void,
  v: TemporalValidation | undefined,
): Promise<PersonalResult> {
  const dae = await trainAutoencoder(data, options, log, v, false);
  if (dae.validationNdcg === undefined) return dae;
  const body = await refitAutoencoder(data, options, log, dae.params.bestEpoch);
  const metrics = validationMetrics([['mult-dae', dae.validationNdcg]], v?.users ?? 0);
  return { body, params: dae.params, backend: dae.backend, ...(metrics ? { metrics } : {}) };
}

/** Trains EASE and the Mult-DAE on one temporal validation, keeps the better, refits it on all data. */
async function autoPersonal(
  data: PersonalData,
  options: PersonalOptions,
  log: (line: string) => void,
  v: TemporalValidation | undefined,
): Promise<PersonalResult> {
  if (!v || v.users === 0) {
    // No customer bought anything new after the cut-off: nothing to compare on or to stop early with.
    log('personal auto: no customer to validate on; EASE (closed form) without comparison');
    return easePersonal(data, options, log, v);
  }
  if (v.users < MIN_VALIDATION_CUSTOMERS) {
    log(
      `personal auto: only ${v.users} customers to validate on (fewer than ${MIN_VALIDATION_CUSTOMERS}), too few to tell the models apart; EASE (closed form) with the default settings, without comparison`,
    );
    return easePersonal(data, options, log, v);
  }
  const users = v.users;
  log(`personal auto: training EASE and Mult-DAE on one temporal validation (${users} customers)`);
  const ease = await easeChoice(data, options, log, v);
  const easeNdcg = ease.selection?.best.ndcg ?? 0;
  const dae = await trainAutoencoder(data, options, log, v, true);
  const daeNdcg = dae.validationNdcg ?? 0;
  // Ties go to EASE: closed form, deterministic, cheaper to retrain.
  const winner = daeNdcg > easeNdcg ? 'mult-dae' : 'ease';
  log(
    `personal auto: validation nDCG@10 (served lists, ${users} customers): EASE (λ ${ease.config.lambda}, ${halfLifeLabel(ease.config.halfLifeDays)}, popularity^−${ease.config.popularityExponent}) ${easeNdcg.toFixed(4)} vs Mult-DAE (epoch ${dae.params.bestEpoch}) ${daeNdcg.toFixed(4)} → ${winner === 'ease' ? 'EASE' : 'Mult-DAE'}`,
  );
  const comparison: Params = {
    selection: 'auto',
    validation: 'temporal',
    validationCutoff: new Date(v.cutoff).toISOString(),
    validationUsers: users,
    easeLambda: ease.config.lambda,
    easeHalfLifeDays: ease.config.halfLifeDays ?? 'none',
    easePopularityExponent: ease.config.popularityExponent,
    easeValidationNdcg10: round4(easeNdcg),
    multDaeBestEpoch: dae.params.bestEpoch,
    multDaeValidationNdcg10: round4(daeNdcg),
  };
  const metrics = validationMetrics([...easeMetricEntries(ease.selection), ['mult-dae', daeNdcg]], users);
  if (winner === 'mult-dae') {
    log(
      `personal model: Mult-DAE (epoch ${dae.params.bestEpoch} of ${dae.params.epochs}), refitted on all data`,
    );
    const body = await refitAutoencoder(data, options, log, dae.params.bestEpoch);
    return {
      body,
      params: { ...dae.params, ...comparison, validationNdcg10: round4(daeNdcg) },
      backend: dae.backend,
      ...(metrics ? { metrics } : {}),
    };
  }
  const body = fitEase(data, options, ease.config);
  log(`personal model: ${describeEase(body, ease.config)}`);
  return {
    body,
    params: { ...easeParams(body, ease.config, v, easeNdcg), ...comparison },
    // TF.js did run (for the comparison), though the shipped model is closed form.
    backend: `${CLOSED_FORM}; Mult-DAE candidate on TF.js ${dae.backend}`,
    ...(metrics ? { metrics } : {}),
    ...plainEase(data, options, ease.selection),
  };
}
