import { formatPrice } from '../../contracts/markup';
import type { Api, PriceQuote } from './api';
import { report } from './lib/guard';

/** Product ids per `/v1/prices` request, so the URL stays short. */
const IDS_PER_REQUEST = 50;

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
  for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) {
    try {
      const { prices } = await api.prices(ids.slice(i, i + IDS_PER_REQUEST));
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
