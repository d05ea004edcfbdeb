import { MAX_QUERY_LENGTH, PRODUCT_ID_PATTERN } from '../../contracts/api-types';
import { formatPrice } from '../../contracts/markup';
import type { Api, PriceQuote } from './api';
import { groups } from './lib/groups';
import { report } from './lib/guard';

/** Product ids per `/v1/prices` request (the API's limit)... */
const IDS_PER_REQUEST = 50;
/** ...and their length, encoded, leaving room in the API's query limit for the rest of the URL. */
const ID_CHARS_PER_REQUEST = MAX_QUERY_LENGTH - 200;

/**
 * The ids in requests the API will take: ids it would refuse are left out (one would fail the
 * whole request, and every price with it; their elements end `failed`), and the rest are split
 * by count and by encoded length.
 */
export function priceRequests(ids: readonly string[]): string[][] {
  const valid = ids.filter((id) => PRODUCT_ID_PATTERN.test(id));
  // The comma between ids goes out as `%2C`.
  return groups(valid, IDS_PER_REQUEST, ID_CHARS_PER_REQUEST, (id) => encodeURIComponent(id).length + 3);
}

/**
 * Replaces the text of `[data-rx-price][data-rx-product-id]` elements with the shopper's price,
 * keeping the shop's own formatting (symbol, separators: the current text is the template), and
 * stores the signed price token on the element for the checkout. Resolves with every quote seen,
 * keyed by product id, so `Product Added` can report the price the shopper was shown.
 */
export async function updatePrices(api: Api, known: Map<string, PriceQuote>): Promise<void> {
  const elements = [...document.querySelectorAll<HTMLElement>('[data-rx-price][data-rx-product-id]')].filter(
    (el) => !el.dataset.rxState && !el.closest('.rx-block'),
  );
  const ids = [...new Set(elements.map((el) => el.dataset.rxProductId ?? ''))].filter(Boolean);
  if (ids.length === 0) return;
  for (const el of elements) el.dataset.rxState = 'loading';
  for (const request of priceRequests(ids)) {
    try {
      const { prices } = await api.prices(request);
      for (const quote of prices) known.set(quote.product_id, quote);
    } catch (error) {
      report('prices unavailable', error);
    }
  }
  for (const el of elements) {
    const quote = known.get(el.dataset.rxProductId ?? '');
    el.dataset.rxState = quote ? 'priced' : 'failed';
    if (!quote) continue;
    // No token when the worker has no signing key: never write the string "null" for checkout to send.
    if (quote.token) el.dataset.rxPriceToken = quote.token;
    const text = formatPrice(quote.price, {
      template: el.textContent?.trim() || undefined,
      currency: quote.currency,
    });
    // Writing only on change keeps the text node (and selection, screen-reader focus) intact.
    if (text !== el.textContent?.trim()) el.textContent = text;
  }
}
