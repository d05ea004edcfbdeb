import type { CatalogueItem } from '../../../contracts/manifest';

/**
 * The graph's `mask`: 1 where an item may be recommended, 0 where it must not be: unavailable items,
 * excluded ids (bought, on the page, in the cart) and, with a category filter (the catalogue's
 * categories the query named: catalogueCategories), other categories.
 */
export function recommendationMask(
  items: readonly CatalogueItem[],
  byId: ReadonlyMap<string, number>,
  excludedIds: Iterable<string>,
  categories?: readonly string[],
): Float32Array {
  const mask = new Float32Array(items.length);
  const only = categories?.length ? new Set(categories) : undefined;
  items.forEach((item, index) => {
    mask[index] = item.available && (only === undefined || only.has(item.category)) ? 1 : 0;
  });
  for (const id of excludedIds) {
    const index = byId.get(id);
    if (index !== undefined) mask[index] = 0;
  }
  return mask;
}
