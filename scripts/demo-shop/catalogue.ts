/**
 * The demo shop's products: scripts/demo-data/catalogue.json (300 products of the UCI Online Retail
 * dataset with their real descriptions and median prices), indexed for the pages.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Product {
  product_id: string;
  title: string;
  price: number;
  currency: string;
  category: string;
  /** Distinct customers who bought it in the dataset: the shop's own "popular" order. */
  customers: number;
}

export interface ShopCatalogue {
  /** Most bought first, as in the data file. */
  products: readonly Product[];
  byId: ReadonlyMap<string, Product>;
  /** Categories ordered by how many products they hold, `other` last. */
  categories: readonly string[];
  inCategory(category: string): readonly Product[];
}

const CATALOGUE_FILE = fileURLToPath(new URL('../demo-data/catalogue.json', import.meta.url));

function isProduct(value: unknown): value is Product {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.product_id === 'string' &&
    typeof p.title === 'string' &&
    typeof p.price === 'number' &&
    typeof p.currency === 'string' &&
    typeof p.category === 'string' &&
    typeof p.customers === 'number'
  );
}

/** Reads and indexes the catalogue; throws naming the file and the first bad entry if it is malformed. */
export function loadCatalogue(file = CATALOGUE_FILE): ShopCatalogue {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${file}: expected a JSON array of products`);
  const products = raw.map((entry: unknown, index) => {
    if (!isProduct(entry)) throw new Error(`${file}: entry ${index} is not a product`);
    // Descriptions in the dataset carry trailing spaces; the id and price are what matter.
    return { ...entry, title: entry.title.trim() };
  });
  const byCategory = new Map<string, Product[]>();
  for (const product of products) {
    const list = byCategory.get(product.category) ?? [];
    list.push(product);
    byCategory.set(product.category, list);
  }
  const categories = [...byCategory.keys()].sort((a, b) => {
    if (a === 'other' || b === 'other') return a === 'other' ? 1 : -1;
    return (byCategory.get(b)?.length ?? 0) - (byCategory.get(a)?.length ?? 0);
  });
  return {
    products,
    byId: new Map(products.map((p) => [p.product_id, p])),
    categories,
    inCategory: (category) => byCategory.get(category) ?? [],
  };
}

const formatters = new Map<string, Intl.NumberFormat>();

/** The shop's price format, e.g. `£2.55` (en-GB, two decimals). */
export function formatPrice(amount: number, currency: string): string {
  let formatter = formatters.get(currency);
  if (!formatter) {
    formatter = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    formatters.set(currency, formatter);
  }
  return formatter.format(amount);
}

/** `home-decor` → `Home decor`. */
export function categoryLabel(category: string): string {
  const words = category.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Site paths of a product, its image and its category (the bundle's catalogue `url`/`image` use these). */
export const paths = {
  product: (id: string) => `/products/${encodeURIComponent(id)}`,
  image: (id: string) => `/images/${encodeURIComponent(id)}.svg`,
  category: (category: string) => `/categories/${encodeURIComponent(category)}`,
};
