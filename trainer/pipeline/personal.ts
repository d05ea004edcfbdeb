/** The `personal` model: a Mult-DAE trained with TF.js (default), or the item-item model when asked for. */
import type { SparseMatrix } from '../data/matrix';
import { trainItemItem } from '../models/item-item';
import { trainMultDae } from '../models/mult-dae';
import type { ScoringBody } from '../onnx/recommender-graphs';
import { initBackend } from '../tfjs/backend';

/** Options of the personal model. */
export interface PersonalOptions {
  personal?: 'autoencoder' | 'item-item';
  hidden?: number;
  epochs?: number;
  seed?: number;
}

/** Trains the personal model. */
export async function trainPersonal(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
): Promise<{ body: ScoringBody; params: Record<string, number | string | boolean>; backend: string }> {
  if (options.personal === 'item-item') {
    log('personal model: item-item cosine');
    return { body: trainItemItem(x), params: { model: 'item-item' }, backend: 'none (closed form)' };
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
