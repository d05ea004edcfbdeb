/**
 * The `personal` model: EASE (default: the best in `npm run eval` on Online Retail, closed form, no
 * TF.js), the Mult-DAE trained with TF.js, or the item-item model when asked for.
 */
import type { SparseMatrix } from '../data/matrix';
import { trainEase } from '../models/ease';
import { selectEaseLambda } from '../models/ease-lambda';
import { trainItemItem } from '../models/item-item';
import { trainMultDae } from '../models/mult-dae';
import type { ScoringBody } from '../onnx/recommender-graphs';
import { initBackend } from '../tfjs/backend';

/** The personal models `--personal` accepts. */
export const PERSONAL_MODELS = ['ease', 'autoencoder', 'item-item'] as const;
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

/** Trains the personal model. */
export async function trainPersonal(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
): Promise<{ body: ScoringBody; params: Record<string, number | string | boolean>; backend: string }> {
  const personal = options.personal ?? 'ease';
  if (personal === 'item-item') {
    log('personal model: item-item cosine');
    return { body: trainItemItem(x), params: { model: 'item-item' }, backend: 'none (closed form)' };
  }
  if (personal === 'ease') {
    const rank = options.rank ?? 128;
    let lambda = options.lambda;
    let validationNdcg: number | undefined;
    if (lambda === undefined) {
      const selection = await selectEaseLambda(x, {
        rank,
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      });
      lambda = selection.lambda;
      validationNdcg = selection.scores.find((s) => s.lambda === lambda)?.ndcg;
      log(
        `EASE λ by validation nDCG@10: ${selection.scores.map((s) => `${s.lambda} → ${s.ndcg.toFixed(4)}`).join(', ')}`,
      );
    }
    const body = trainEase(x, { lambda, rank });
    log(
      `personal model: EASE (λ ${lambda}, ${body.kind === 'factorized' ? `rank ${body.rank}` : 'exact, dense'})`,
    );
    return {
      body,
      params: {
        model: 'ease',
        lambda,
        ...(body.kind === 'factorized' ? { rank: body.rank } : { exact: true }),
        ...(validationNdcg !== undefined ? { validationNdcg10: Number(validationNdcg.toFixed(4)) } : {}),
      },
      backend: 'none (closed form)',
    };
  }
  const backend = await initBackend();
  log(`personal model: Mult-DAE on TF.js backend ${backend}`);
  const result = await trainMultDae(x, {
    ...(options.hidden ? { hidden: options.hidden } : {}),
    ...(options.epochs ? { epochs: options.epochs } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    log,
  });
  const best = result.epochs[result.bestEpoch - 1];
  return {
    body: result.body,
    params: {
      model: 'mult-dae',
      hidden: result.body.hidden,
      epochs: result.epochs.length,
      bestEpoch: result.bestEpoch,
      validationNdcg10: Number((best?.validationNdcg ?? 0).toFixed(4)),
    },
    backend,
  };
}
