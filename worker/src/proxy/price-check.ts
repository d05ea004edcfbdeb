/**
 * Whether a price element shows the price our catalogue calls the product's base price, before its
 * text becomes this shopper's price (docs/proxy.md "Prices the shop printed"). A personalized price is
 * a change from the base price: written over any other number (a catalogue older than the shop's
 * prices, a price of another product, a struck-through old price, another currency, a price with tax
 * the catalogue has without) it would show an amount the retailer never set. Such prices are left as
 * the shop printed them; `/healthz` `prices` is `degraded` for a minute after a page that had one, and
 * the log says it once per isolate and kind (`proxy_price_mismatch`): product id and numbers, no URL.
 *
 * Runs only for a price that would otherwise be rewritten, and costs a few regular expressions.
 */
import { parsePrice } from '../../../contracts/markup';
import type { Env } from '../env';
import { componentHealth, registerHealthProbe, reportFailure } from '../health';
import { log } from '../log';
import { firstInIsolate } from '../log-repeating';
import { decodeEntities } from './html-text';
import type { PriceQuote } from './source';

/**
 * - `amount`: another number than the base price (counted on `/healthz`);
 * - `currency`: a currency sign or code other than the quote's (counted on `/healthz`);
 * - `not_one_price`: no single price to compare (a range, a multi-buy, a unit price): the shop's
 *   markup, not a fault of the catalogue, so logged once but not counted.
 */
export type PriceMismatch = 'amount' | 'currency' | 'not_one_price';

/** `match`, or why the shop's text is not the quote's base price. `raw`: the text as in the page. */
export function checkShopPrice(
  raw: string,
  quote: Pick<PriceQuote, 'base_price' | 'currency'>,
): 'match' | PriceMismatch {
  const text = decodeEntities(raw);
  const shown = parsePrice(text);
  if (shown === null) return 'not_one_price';
  if (otherCurrency(text, quote.currency)) return 'currency';
  // To the cent: both sides come from decimal text, and binary fractions differ below it (2.55 * 100).
  return Math.round(shown * 100) === Math.round(quote.base_price * 100) ? 'match' : 'amount';
}

const CURRENCY_SIGNS = /\p{Sc}/gu;
/** Three capitals standing alone ("GBP", "2,55 EUR"); checked against the ISO 4217 list. */
const CODE_LIKE = /(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])/g;

/** The quote's own sign ("£", "$" for USD and CAD alike), once per currency per isolate. */
const signs = new Map<string, string>();
let currencyCodes: Set<string> | undefined;

function signOf(currency: string): string {
  let sign = signs.get(currency);
  if (sign === undefined) {
    try {
      const format = new Intl.NumberFormat('en', {
        style: 'currency',
        currency,
        currencyDisplay: 'narrowSymbol',
      });
      sign = format.formatToParts(0).find((part) => part.type === 'currency')?.value ?? currency;
    } catch {
      sign = currency;
    }
    if (signs.size >= 64) signs.clear();
    signs.set(currency, sign);
  }
  return sign;
}

/**
 * A sign (`€`) or an ISO code (`EUR`) in the text that is not the quote's currency: the shop shows
 * another currency (a multi-currency shop), and a GBP amount must not be written in its € format.
 * Words that only look like codes ("VAT", "NEW") are not ISO 4217 codes and are ignored.
 */
export function otherCurrency(text: string, currency: string): boolean {
  for (const [sign] of text.matchAll(CURRENCY_SIGNS)) {
    if (!signOf(currency).includes(sign)) return true;
  }
  for (const [code] of text.matchAll(CODE_LIKE)) {
    if (code === currency) continue;
    currencyCodes ??= new Set(Intl.supportedValuesOf('currency'));
    if (currencyCodes.has(code)) return true;
  }
  return false;
}

/**
 * The shop's price text as a pattern for the prices of rendered blocks (formatPrice's `template`), or
 * undefined when it is not one price (a range "£2 - £3", a multi-buy, a unit price, no number): with
 * such a template a block would print "£2.55 - £3".
 */
export function onePriceText(raw: string): string | undefined {
  const text = decodeEntities(raw).trim();
  return text && parsePrice(text) !== null ? text : undefined;
}

const HINTS: Record<PriceMismatch, string> = {
  amount:
    'the page prints another amount than the catalogue base price: an older catalogue (publish a bundle with current prices), ' +
    "another product's price (RX_PRODUCT_ID_SELECTOR), an old or struck-through price (RX_PRICE_SELECTOR), or tax the catalogue has without",
  currency: "the page prints another currency than the catalogue's",
  not_one_price: 'a range, a multi-buy or a unit price, not one price (RX_PRICE_SELECTOR)',
};

/**
 * Logs a kind of mismatch the first time this isolate sees it: the product id and the two numbers
 * (the shop's public price and the catalogue's), never the page's URL or the shopper's price.
 */
export function logPriceMismatch(kind: PriceMismatch, productId: string, text: string, base: number): void {
  if (!firstInIsolate('proxy_price_mismatch', kind)) return;
  const shown = parsePrice(decodeEntities(text));
  log('warn', 'proxy_price_mismatch', {
    kind,
    product_id: productId,
    ...(shown === null ? {} : { shop_price: shown }),
    base_price: base,
    hint: HINTS[kind],
  });
}

/** Prices this isolate left as the shop printed them because they did not match (amount or currency). */
let mismatched = 0;

/** One page's count of such prices, reported once at its end (not once per price). */
export function reportPriceMismatches(count: number): void {
  mismatched += count;
  reportFailure(
    'prices',
    `${mismatched} price(s) on proxied pages did not match the catalogue's base price and were left as the shop printed them: ` +
      'publish a bundle with current prices, or check RX_PRODUCT_ID_SELECTOR',
  );
}

registerHealthProbe('prices', (env: Env) => componentHealth('prices', Boolean(env.ORIGIN_URL)));
