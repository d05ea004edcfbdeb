import { MAX_QUERY_LENGTH, PRODUCT_ID_PATTERN } from '../../contracts/api-types';
import { groups } from '../../contracts/groups';
import { formatPrice, parsePrice } from '../../contracts/markup';
import type { Api, PriceQuote } from './api';
import { otherCurrency } from './lib/currency';
import { guard, report } from './lib/guard';
import { claim } from './slots';

/**
 * The ids in requests the API will take: ids it would refuse are left out (one would fail the
 * whole request, and every price with it; their elements end `failed`), and the rest are split
 * by count and by encoded length.
 */
export function priceRequests(ids: readonly string[]): string[][] {
  /**
   * Product ids per `/v1/prices` request (the API's limit). Declared here, not at the module's top:
   * esbuild writes a function's constant into the code (outbox.ts says why).
   */
  const IDS_PER_REQUEST = 50;
  // At most IDS_PER_REQUEST ids, and their length, encoded, leaving room in the API's query limit for the
  // rest of the URL (200 characters); the comma between ids goes out as `%2C`.
  return groups(
    ids.filter((id) => PRODUCT_ID_PATTERN.test(id)),
    IDS_PER_REQUEST,
    MAX_QUERY_LENGTH - 200,
    (id) => encodeURIComponent(id).length + 3,
  );
}

/**
 * Replaces the number in `[data-rx-price][data-rx-product-id]` elements with the shopper's personalized
 * price, keeping the shop's own formatting (symbol, separators: the current text is the template), and
 * stores the signed price token on the element for the checkout. Fills `known` with those quotes,
 * keyed by product id, so `Product Added` can report the price the shopper was shown.
 *
 * A base price (`personalized: false`, every price until personalized pricing lands) leaves the element
 * alone (`data-rx-state="base"`): it is the model catalogue's price, which can be older than the page's,
 * and the shop's own price is the one to show and to charge (no token, so checkout charges it).
 *
 * A personalized price replaces only the catalogue's base price as the shop printed it (or the
 * shopper's price, which proxy mode already wrote): any other text (a price the shop changed since the
 * catalogue was made, another product's, a range, a unit price, no number) is left as it is, with no
 * token, `data-rx-state="mismatch"`. Struck-through prices (inside `s`, `del`, `strike`) are not ours.
 *
 * An element priced for another product than its `data-rx-product-id` now names (a single-page app that
 * keeps the element for the next product) is priced again, without the earlier token.
 */
export const updatePrices = guard(
  'prices',
  async (api: Api, known: Map<string, PriceQuote>): Promise<void> => {
    // Not priced yet, or priced for another product (a single-page app's next product in the same element).
    // The id without the spaces around it, as the API reads it (it answers "85123A " as "85123A").
    const elements = [
      ...document.querySelectorAll<HTMLElement>('[data-rx-price][data-rx-product-id]'),
    ].filter(
      (el) =>
        !el.closest('.rx-block,s,del,strike') && claim(el.dataset, (el.dataset.rxProductId as string).trim()),
    );
    // An empty (or blank) id is one the API would refuse: priceRequests leaves it out, and its element
    // ends `failed`.
    const ids = [...new Set(elements.map((el) => el.dataset.rxFor as string))];
    const quotes = new Map<string | undefined, PriceQuote>();
    for (const request of priceRequests(ids)) {
      try {
        const { prices } = await api.quotes(request);
        // A quote without numbers for both prices (a string, null, missing) would throw in formatting
        // half-way through; left out, its elements end `failed`, untouched and without a token.
        for (const quote of prices)
          if (Number.isFinite(quote?.price) && Number.isFinite(quote.base_price))
            quotes.set(quote.product_id, quote);
      } catch (error) {
        report('prices', error);
      }
    }
    for (const el of elements) {
      const data = el.dataset;
      // Priced already, by a later scan that found it changed while this one asked (out of order); or
      // changed to an id this run did not ask for: the later scan's run prices it.
      if (data.rxState !== 'loading' || !ids.includes(data.rxFor as string)) continue;
      const quote = quotes.get(data.rxFor);
      const text = (el.textContent as string).trim();
      const printed = (amount: number) => formatPrice(amount, { template: text });
      // One price, the base price as the shop prints it (so to the cent), or the shopper's price, which
      // proxy mode already wrote.
      const ours =
        quote?.personalized &&
        parsePrice(text) !== null &&
        !otherCurrency(text, quote.currency) &&
        (printed(quote.base_price) === text || printed(quote.price) === text);
      data.rxState = quote ? (quote.personalized ? (ours ? 'priced' : 'mismatch') : 'base') : 'failed';
      if (!ours) continue;
      known.set(quote.product_id, quote);
      // No token when the worker has no signing key: never write the string "null" for checkout to send.
      if (quote.token) data.rxPriceToken = quote.token;
      // Writing only on change keeps the text node (and selection, screen-reader focus) intact.
      const price = printed(quote.price);
      if (price !== text) {
        // Only the number, in the text node holding its first digit: the shop's markup (a currency
        // `<span>` inside `<bdi>`) and spacing stay. (4: text nodes.)
        const walker = document.createTreeWalker(el, 4);
        for (let node = walker.nextNode() as Text | null; node; node = walker.nextNode() as Text | null) {
          if (/\d/.test(node.data)) {
            node.data = formatPrice(quote.price, { template: node.data });
            break;
          }
        }
        // A number split across nodes ("1<b>,</b>234") came out otherwise: the whole text, as before.
        if ((el.textContent as string).trim() !== price) el.textContent = price;
      }
    }
  },
);
