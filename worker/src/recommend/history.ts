import type { ActivityEntry } from '../cache/keys';

/**
 * How much one event says about what a shopper wants. A removal says nothing more: the item's earlier
 * `cart` entry keeps its weight (the shopper did want it), and the removal only ends its cart place.
 */
const KIND_WEIGHT: Record<ActivityEntry['kind'], number> = {
  purchase: 1,
  cart: 0.8,
  click: 0.6,
  view: 0.5,
  removed: 0,
};
/** Each older entry counts a little less (the list is newest first). */
const RECENCY_DECAY = 0.92;

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
    vector[index] = (vector[index] ?? 0) + KIND_WEIGHT[entry.kind] * RECENCY_DECAY ** position;
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
