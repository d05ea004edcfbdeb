import { ACTIVITY_KIND_WEIGHT, ACTIVITY_RECENCY_DECAY } from '../../../contracts/activity';
import type { ActivityEntry } from '../cache/keys';

/**
 * The weighted item-history vector every recommender graph takes: recent activity decayed by position,
 * plus explicit context items (the product on the page, the cart) at `contextWeight`.
 * Ids not in the catalogue are ignored: an unknown product is a fallback, not an error.
 */
export function historyVector(
  byId: ReadonlyMap<string, number>,
  itemCount: number,
  activity: readonly ActivityEntry[],
  context: readonly string[] = [],
  contextWeight = 2,
): { vector: Float32Array; known: number } {
  const vector = new Float32Array(itemCount);
  let known = 0;
  activity.forEach((entry, position) => {
    const index = byId.get(entry.product_id);
    if (index === undefined || entry.kind === 'removed') return;
    vector[index] =
      (vector[index] ?? 0) + ACTIVITY_KIND_WEIGHT[entry.kind] * ACTIVITY_RECENCY_DECAY ** position;
    known++;
  });
  for (const id of context) {
    const index = byId.get(id);
    if (index === undefined) continue;
    vector[index] = (vector[index] ?? 0) + contextWeight;
    known++;
  }
  return { vector, known };
}
