/**
 * What the worker never recommends to a shopper from their own history (worker/src/recommend/compute.ts):
 * what they bought and what is in their cart. Not what they only viewed or clicked: the worker leaves
 * those in, for every model kind, so a Mult-DAE (which reconstructs its input) or any model that scores a
 * viewed item high shows it again. Eval, train's validation and `recommend` mask these, so that their
 * lists are the worker's; masking the whole history, as before, scored events data on lists without the
 * viewed items that shoppers are shown (order histories, every row a purchase, are unchanged).
 */
import { type InteractionMatrix, type SparseMatrix, toCsr } from '../data/matrix';
import type { Interaction } from '../data/types';
import { kindOf } from './served-history';

/**
 * One row per `matrix` user: their purchases, and the items put in the cart since their last purchase
 * (the worker's cartOfActivity: an order empties the cart; `Product Removed` is not read here, so an
 * item taken out again still counts as in it).
 */
export function servedExclusions(
  matrix: InteractionMatrix,
  interactions: readonly Interaction[],
): SparseMatrix {
  const rowOf = new Map(matrix.users.map((user, r) => [user, r]));
  const lastPurchase = new Map<string, number>();
  for (const it of interactions)
    if (kindOf(it) === 'purchase')
      lastPurchase.set(it.user, Math.max(lastPurchase.get(it.user) ?? Number.NEGATIVE_INFINITY, it.time));
  const rows = matrix.users.map(() => new Map<number, number>());
  for (const it of interactions) {
    const r = rowOf.get(it.user);
    const c = matrix.itemIndex.get(it.item);
    if (r === undefined || c === undefined) continue;
    const kind = kindOf(it);
    const inCart = kind === 'cart' && it.time > (lastPurchase.get(it.user) ?? Number.NEGATIVE_INFINITY);
    if (kind === 'purchase' || inCart) rows[r]?.set(c, 1);
  }
  return toCsr(rows, matrix.items.length, () => 1);
}
