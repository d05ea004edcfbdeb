import type { CatalogueItem } from '../../../contracts/manifest';

/**
 * The graph's `mask`: 1 where an item may be recommended, 0 where it must not be: unavailable items,
 * excluded ids (bought, on the page, in the cart) and, with a category filter, other categories.
 */
export function recommendationMask(
  items: readonly CatalogueItem[],
  byId: ReadonlyMap<string, number>,
  excludedIds: Iterable<string>,
  category?: string,
): Float32Array {
  const mask = new Float32Array(items.length);
  items.forEach((item, index) => {
    mask[index] = item.available && (category === undefined || item.category === category) ? 1 : 0;
  });
  for (const id of excludedIds) {
    const index = byId.get(id);
    if (index !== undefined) mask[index] = 0;
  }
  return mask;
}
