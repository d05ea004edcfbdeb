import { activityWeigher } from '../../../contracts/activity';
import type { ActivityEntry } from '../cache/keys';

/**
 * The weighted item-history vector every recommender graph takes: recent activity decayed by event
 * (the list is newest first),
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
  const weigh = activityWeigher();
  for (const entry of activity) {
    // Every entry takes its step, known or not (one event is one step back: contracts/activity.ts).
    const weight = weigh(entry.kind, entry.at);
    const index = byId.get(entry.product_id);
    if (index === undefined || entry.kind === 'removed') continue;
    vector[index] = (vector[index] ?? 0) + weight;
    known++;
  }
  for (const id of context) {
    const index = byId.get(id);
    if (index === undefined) continue;
    vector[index] = (vector[index] ?? 0) + contextWeight;
    known++;
  }
  return { vector, known };
}
