import type { Placement } from './config';
import { withoutPathParameters } from './path-parameters';

/** What a page is about, guessed from its URL before the origin answers. */
export interface PageContext {
  placement: Placement;
  productId?: string;
  category?: string;
}

// Common storefront URL shapes: Shopify (/products/x, /collections/x), WooCommerce (/product/x,
// /product-category/x), the demo shop (/products/ID, /categories/x), and generic /p/ID, /c/x; each
// also under a locale prefix (Shopify Markets' /en-gb/, /fr-ca/; WPML's /de/; /zh-hant/), which a
// shop selling in several languages puts before every path.
const LOCALE = '(?:\\/[a-z]{2}(?:[-_](?:[a-z]{2}|[a-z]{4}))?)?';
const PRODUCT_PATH = new RegExp(`^${LOCALE}\\/(?:products?|p|item)\\/([^/?#]+)\\/?$`, 'i');
const CATEGORY_PATH = new RegExp(
  `^${LOCALE}\\/(?:categories|category|collections|product-category|c)\\/([^/?#]+)\\/?$`,
  'i',
);
const CART_PATH = new RegExp(`^${LOCALE}\\/(?:cart|basket|checkout\\/cart)\\/?$`, 'i');

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The placement and product/category of a page from its path, so recommendations can be fetched
 * in parallel with the origin. Slots on the page that ask for something else are fetched when seen.
 * A category is the URL's segment as it is (`home-garden`): the ranking reads it as the catalogue's
 * category of that name or slug ("Home & Garden"), and ignores one the catalogue does not have
 * (worker/src/recommend/category.ts). Every slot of the page that names no category of its own gets
 * it, whatever its placement (slot-query.ts; docs/proxy.md). Path parameters (`;jsessionid=…`) are
 * dropped first (withoutPathParameters).
 */
export function pageContextFromUrl(url: URL): PageContext {
  // `/products/85123A;jsessionid=…` is product 85123A: the session id is not part of it.
  const path = withoutPathParameters(url.pathname);
  const product = PRODUCT_PATH.exec(path)?.[1];
  const productId = product === undefined ? undefined : decoded(product);
  if (productId) return { placement: 'product', productId };
  const categorySegment = CATEGORY_PATH.exec(path)?.[1];
  const category = categorySegment === undefined ? undefined : decoded(categorySegment);
  if (category) return { placement: 'category', category };
  if (CART_PATH.test(path)) return { placement: 'cart' };
  return { placement: 'home' };
}
