/**
 * A graph's top-k as the worker serves it (worker/src/recommend/compute.ts), for `npm run recommend`
 * and `npm run eval`: the items the model has evidence for, in its order, then the most popular items
 * the mask allows in the places left. Without this a shopper whose history relates to nothing got the
 * first items of the catalogue, in catalogue order, where the worker shows them its best sellers.
 */
import { isModelEvidence } from '../../contracts/manifest';

/** One served item: its catalogue index and the model's score (0 for a popularity fill). */
export interface ServedItem {
  index: number;
  score: number;
}

/**
 * The first `k` served items of one row. `indices`/`scores` are the row's top-k from the graph, `mask`
 * its mask row (1 allowed), `popularityOrder` every catalogue index, most popular first.
 */
export function servedTopK(
  indices: ArrayLike<number>,
  scores: ArrayLike<number>,
  k: number,
  mask: ArrayLike<number>,
  popularityOrder: ArrayLike<number>,
): ServedItem[] {
  const served: ServedItem[] = [];
  const taken = new Set<number>();
  for (let i = 0; i < indices.length && served.length < k; i++) {
    const index = indices[i] ?? -1;
    const score = scores[i] ?? Number.NaN;
    if (!isModelEvidence(score) || mask[index] !== 1 || taken.has(index)) continue;
    served.push({ index, score });
    taken.add(index);
  }
  for (let i = 0; i < popularityOrder.length && served.length < k; i++) {
    const index = popularityOrder[i] ?? -1;
    if (mask[index] !== 1 || taken.has(index)) continue;
    served.push({ index, score: 0 });
    taken.add(index);
  }
  return served;
}
