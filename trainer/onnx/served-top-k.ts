/**
 * A graph's top-k as the worker serves it (worker/src/recommend/compute.ts), for `npm run recommend`
 * and `npm run eval`: the items the model has evidence for, in its order, then the most popular items
 * the mask allows in the places left, and with the items' product families known, at most 40 % of the
 * row from one family (contracts/diversify.ts). Without this a shopper whose history relates to nothing
 * got the first items of the catalogue, in catalogue order, where the worker shows them its best sellers.
 */
import { diversify } from '../../contracts/diversify';
import { type CatalogueItem, isModelEvidence } from '../../contracts/manifest';

/** One served item: its catalogue index and the model's score (0 for a popularity fill). */
export interface ServedItem {
  index: number;
  score: number;
}

/**
 * Every item the worker could serve a row, best first: the model's evidence, then the most popular
 * allowed items. Lazy, as the worker's: the family cap usually needs only a few past `k`.
 */
function* servedCandidates(
  indices: ArrayLike<number>,
  scores: ArrayLike<number>,
  mask: ArrayLike<number>,
  popularityOrder: ArrayLike<number>,
): Generator<ServedItem> {
  const taken = new Set<number>();
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i] ?? -1;
    const score = scores[i] ?? Number.NaN;
    if (!isModelEvidence(score) || mask[index] !== 1 || taken.has(index)) continue;
    taken.add(index);
    yield { index, score };
  }
  for (let i = 0; i < popularityOrder.length; i++) {
    const index = popularityOrder[i] ?? -1;
    if (mask[index] !== 1 || taken.has(index)) continue;
    taken.add(index);
    yield { index, score: 0 };
  }
}

/**
 * The first `k` served items of one row. `indices`/`scores` are the row's top-k from the graph, `mask`
 * its mask row (1 allowed), `popularityOrder` every catalogue index, most popular first. `families`, the
 * catalogue's items by index (their `category`), applies the worker's family cap; without it the row is
 * the candidates' first `k`.
 */
export function servedTopK(
  indices: ArrayLike<number>,
  scores: ArrayLike<number>,
  k: number,
  mask: ArrayLike<number>,
  popularityOrder: ArrayLike<number>,
  families?: ReadonlyArray<Pick<CatalogueItem, 'category'>>,
): ServedItem[] {
  const candidates = servedCandidates(indices, scores, mask, popularityOrder);
  if (families) return diversify(candidates, families, k);
  const served: ServedItem[] = [];
  for (const candidate of candidates) {
    if (served.length >= k) break;
    served.push(candidate);
  }
  return served;
}
