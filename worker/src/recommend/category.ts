import type { CatalogueItem } from '../../../contracts/manifest';

/** Apostrophes, straight and curly: within a word, as in "Men's". */
const APOSTROPHES = /['\u2018\u2019\u02BC]/gu;

/**
 * A category name compared loosely: lower case, accents dropped, apostrophes and `&` and the word "and"
 * left out, and every run of anything but letters and digits one `-`. The slug shops put in their URLs
 * (`/collections/home-garden` for "Home & Garden", `/product-category/decor` for "Décor",
 * `/collections/mens-shoes` for "Men's Shoes": Shopify and WooCommerce drop apostrophes) reads as the
 * catalogue's name.
 */
export function categorySlug(name: string): string {
  return looseSlug(name.replace(APOSTROPHES, ''));
}

function looseSlug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/&|\band\b/g, ' ')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}

/** The catalogue's category names, by name and by slug; one index per catalogue (its items array). */
const indexes = new WeakMap<
  readonly CatalogueItem[],
  { names: Set<string>; bySlug: Map<string, string[]> }
>();

function indexOf(items: readonly CatalogueItem[]) {
  let index = indexes.get(items);
  if (!index) {
    const names = new Set(items.map((item) => item.category));
    const bySlug = new Map<string, string[]>();
    for (const name of names) {
      // Also under the slug that reads an apostrophe as a separator (`men-s-shoes`), as this module's
      // own slugs did before they dropped it, and as some slug makers still do.
      for (const slug of new Set([categorySlug(name), looseSlug(name)])) {
        bySlug.set(slug, [...(bySlug.get(slug) ?? []), name]);
      }
    }
    index = { names, bySlug };
    indexes.set(items, index);
  }
  return index;
}

/**
 * The catalogue categories a query's `category` names: the one spelled exactly so, else those whose
 * slug is its slug (categorySlug; two names can share one); none when it names no category of the
 * catalogue, and the query is then answered unfiltered, as one naming an unknown product is.
 */
export function catalogueCategories(items: readonly CatalogueItem[], category: string): readonly string[] {
  const { names, bySlug } = indexOf(items);
  if (names.has(category)) return [category];
  const slug = categorySlug(category);
  return slug === '' ? [] : (bySlug.get(slug) ?? []);
}
