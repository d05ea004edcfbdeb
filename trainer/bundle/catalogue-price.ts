/**
 * The price and currency the catalogue shows for an item, from its samples per currency
 * (trainer/data/price-samples.ts): the median of one currency's samples, never a pool of several.
 */
import { type CurrencyPrices, type ItemPrices, pricesIn } from '../data/price-samples';

export interface CataloguePrice {
  /**
   * Median of the chosen currency's samples, rounded to its minor units (roundToMinorUnits); 0 without
   * any, or when it rounds to 0 (0.004 GBP): no price, not a free item (`priced` false).
   */
  price: number;
  /** Whether the data gives the item a price: `price` above 0. */
  priced: boolean;
  currency: string;
  /** Currencies the item had priced samples in (more than 1: `train` says so in a note). */
  currencies: number;
  /** How many samples the median is of: 0 when the data priced the item in no currency (price 0). */
  samples: number;
}

/**
 * The currency is, in this order: `preferred` (the shop catalogue entry's), whose price is the median
 * of the data's prices in it, none when the data has none (another currency's median, as before, was
 * shown and signed in the entry's: 10 GBP as 10 JPY); the one with most price samples, a tie going to the one named last (the shop's current
 * one, as input comes in time order); with no price samples, the one named last (a shop catalogue's
 * price may need it); else `fallback`. Samples whose input named no currency are taken to be in the
 * chosen one: a sender who names it on orders and not on views means the same money.
 */
export function cataloguePrice(
  prices: ItemPrices | undefined,
  fallback: string,
  preferred?: string,
): CataloguePrice {
  const named = [...(prices?.byCurrency ?? [])].filter(([code]) => code !== '');
  const priced = named.filter(([, entry]) => entry.seen > 0);
  const latest = (a: [string, CurrencyPrices], b: [string, CurrencyPrices]) => b[1].lastAt - a[1].lastAt;
  const chosen =
    preferred ??
    priced.sort((a, b) => b[1].seen - a[1].seen || latest(a, b))[0]?.[0] ??
    named.sort(latest)[0]?.[0] ??
    fallback;
  const values = [...pricesIn(prices, chosen), ...pricesIn(prices, '')];
  const price = roundToMinorUnits(median(values), chosen);
  return { price, priced: price > 0, currency: chosen, currencies: priced.length, samples: values.length };
}

const minorUnitsByCurrency = new Map<string, number>();

/**
 * Digits after the point of `currency`'s minor unit, as Intl has ISO 4217's: KWD 3, GBP 2, JPY 0; 2 for
 * a code it cannot format.
 */
export function minorUnits(currency: string): number {
  let digits = minorUnitsByCurrency.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
        .maximumFractionDigits;
    } catch {
      digits = 2;
    }
    minorUnitsByCurrency.set(currency, digits ?? 2);
  }
  return digits ?? 2;
}

/**
 * `amount` rounded to `currency`'s minor units, half up: 0.125 KWD stays 0.125, a median of 1500 and
 * 1501 JPY is 1501 (not 1500.5 yen), 1.005 GBP is 1.01. Rounded through the decimal text: 1.005 × 100
 * is 100.49999… in binary.
 */
export function roundToMinorUnits(amount: number, currency: string): number {
  const digits = minorUnits(currency);
  const scaled = Number(`${amount}e${digits}`);
  return Math.round(Number.isFinite(scaled) ? scaled : amount * 10 ** digits) / 10 ** digits;
}

/**
 * The train output's line about items priced in several currencies, or undefined when none was:
 * each shows one currency's median, so its price in the others is not in the bundle.
 */
export function mixedCurrencyNote(
  items: string[],
  prices: (item: string) => ItemPrices | undefined,
): string | undefined {
  const mixed = items.filter((item) => cataloguePrice(prices(item), '').currencies > 1);
  if (mixed.length === 0) return undefined;
  const example = mixed[0] ?? '';
  const counts = [...(prices(example)?.byCurrency ?? [])]
    .filter(([code, entry]) => code !== '' && entry.seen > 0)
    .map(([code, entry]) => `${entry.seen} ${code}`)
    .join(', ');
  return `note: ${mixed.length} of ${items.length} items have prices in more than one currency in the data (such as "${example}": ${counts}); the catalogue shows each in its most frequent currency, at the median of those prices`;
}

/**
 * The currency most of the data's prices are in, over every item, or undefined when none is named:
 * what a shop catalogue entry without `currency` for a product the data never priced is in.
 */
export function dataCurrency(prices: Iterable<ItemPrices>): string | undefined {
  const counts = new Map<string, number>();
  for (const item of prices)
    for (const [code, entry] of item.byCurrency)
      if (code !== '') counts.set(code, (counts.get(code) ?? 0) + entry.seen);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
