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
 * Replaces the text of `[data-rx-price][data-rx-product-id]` elements with the shopper's personalized
 * price, keeping the shop's own formatting (symbol, separators: the current text is the template), and
 * stores the signed price token on the element for the checkout. Fills `known` with those quotes,
 * keyed by product id, so `Product Added` can report the price the shopper was shown.
 *
 * A base price (`personalized: false`, every price until personalized pricing lands) leaves the element
 * alone (`data-rx-state="base"`): it is the model catalogue's price, which can be older than the page's,
 * and the shop's own price is the one to show and to charge (no token, so checkout charges it).
 */
export async function updatePrices(api: Api, known: Map<string, PriceQuote>): Promise<void> {
  const elements = [...document.querySelectorAll<HTMLElement>('[data-rx-price][data-rx-product-id]')].filter(
    (el) => !el.dataset.rxState && !el.closest('.rx-block'),
  );
  const ids = [...new Set(elements.map((el) => el.dataset.rxProductId ?? ''))].filter(Boolean);
  if (ids.length === 0) return;
  for (const el of elements) el.dataset.rxState = 'loading';
  const quotes = new Map<string, PriceQuote>();
  for (const request of priceRequests(ids)) {
    try {
      const { prices } = await api.prices(request);
      for (const quote of prices) quotes.set(quote.product_id, quote);
    } catch (error) {
      report('prices unavailable', error);
    }
  }
  for (const el of elements) {
    const quote = quotes.get(el.dataset.rxProductId ?? '');
    el.dataset.rxState = quote ? (quote.personalized ? 'priced' : 'base') : 'failed';
    if (!quote?.personalized) continue;
    known.set(quote.product_id, quote);
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
