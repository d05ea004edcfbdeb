import type { BundleCatalogue } from '../models';
import type { RecommendedItem } from './types';

/**
 * Each item's product family (its catalogue `category`), in order, as the family cap counts them
 * (contracts/diversify.ts); undefined if an item is not in the catalogue (a list that cannot be cut).
 */
export function itemFamilies(
  catalogue: Pick<BundleCatalogue, 'items' | 'byId'>,
  items: readonly Pick<RecommendedItem, 'product_id'>[],
): string[] | undefined {
  const families: string[] = [];
  for (const item of items) {
    const index = catalogue.byId.get(item.product_id);
    const family = index === undefined ? undefined : catalogue.items[index]?.category;
    if (family === undefined) return undefined;
    families.push(family);
  }
  return families;
}
