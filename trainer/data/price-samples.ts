/**
 * An item's price samples, kept per currency: a median over 10 GBP and 1,500 JPY is no price in
 * either (755, shown and signed as GBP). The catalogue picks one currency (trainer/bundle/catalogue-price.ts).
 */

/**
 * How many samples are kept per item and currency: a median of 200 is plenty, and memory stays flat.
 * They are the latest 200 (a ring buffer), so a price change shows once most of them are new: the
 * first 200, as before, kept a best seller at its price of the data's first weeks.
 */
export const PRICE_SAMPLES = 200;

/** What was seen of one currency. `''` stands for samples whose input named no currency. */
export interface CurrencyPrices {
  /** Price samples seen in this currency, kept or not: what "most frequent" counts. */
  seen: number;
  /** When this currency was last named, on the item's clock (`ItemPrices.observed`): breaks ties. */
  lastAt: number;
  /** The latest PRICE_SAMPLES samples, a ring buffer: the next one replaces `values[seen % PRICE_SAMPLES]`. */
  values: number[];
}

/** An item's prices by currency code (upper case). */
export interface ItemPrices {
  /** Observations recorded (a price, a currency or both): the clock of `lastAt`. */
  observed: number;
  byCurrency: Map<string, CurrencyPrices>;
}

export function noPrices(): ItemPrices {
  return { observed: 0, byCurrency: new Map() };
}

/**
 * Records what one observation said of an item's price: a price, its currency, or both. A currency
 * without a price still counts as named (a shop catalogue's price may need it).
 */
export function recordPrice(
  prices: ItemPrices,
  price: number | undefined,
  currency: string | undefined,
): void {
  if (price === undefined && !currency) return;
  const code = currency?.toUpperCase() ?? '';
  let entry = prices.byCurrency.get(code);
  if (!entry) {
    entry = { seen: 0, lastAt: 0, values: [] };
    prices.byCurrency.set(code, entry);
  }
  if (price !== undefined) {
    entry.values[entry.seen % PRICE_SAMPLES] = price;
    entry.seen += 1;
  }
  entry.lastAt = prices.observed;
  prices.observed += 1;
}

/** The kept samples in `currency` (`''`: none named), oldest first. */
export function pricesIn(prices: ItemPrices | undefined, currency: string): number[] {
  const entry = prices?.byCurrency.get(currency);
  if (!entry) return [];
  const oldest = entry.seen > PRICE_SAMPLES ? entry.seen % PRICE_SAMPLES : 0;
  return [...entry.values.slice(oldest), ...entry.values.slice(0, oldest)];
}
