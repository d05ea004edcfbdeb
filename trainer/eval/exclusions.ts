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
import { activityEntries, cartOf } from './activity-list';

/**
 * One row per `matrix` user: their purchases, and their cart as the worker reads it from their activity
 * list (activity-list.ts cartOf: the newest ACTIVITY_MAX entries, an order empties the cart, and an
 * item taken out with `Product Removed` is out of it until added again). Activity never expires here:
 * `eval --history served` (served-history.ts) is the one that lets it.
 */
export function servedExclusions(
  matrix: InteractionMatrix,
  interactions: readonly Interaction[],
): SparseMatrix {
  const rowOf = new Map(matrix.users.map((user, r) => [user, r]));
  const byUser = new Map<string, Interaction[]>();
  for (const it of interactions) {
    if (!rowOf.has(it.user)) continue;
    const list = byUser.get(it.user) ?? [];
    list.push(it);
    byUser.set(it.user, list);
  }
  const rows = matrix.users.map(() => new Map<number, number>());
  for (const [user, list] of byUser) {
    const row = rows[rowOf.get(user) ?? -1];
    if (row === undefined) continue;
    const entries = activityEntries(list);
    const masked = [
      ...entries.filter((entry) => entry.kind === 'purchase').map((entry) => entry.interaction.item),
      ...cartOf(entries),
    ];
    for (const item of masked) {
      const c = matrix.itemIndex.get(item);
      if (c !== undefined) row.set(c, 1);
    }
  }
  return toCsr(rows, matrix.items.length, () => 1);
}
