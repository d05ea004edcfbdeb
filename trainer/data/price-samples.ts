/**
 * An item's price samples, kept per currency: a median over 10 GBP and 1,500 JPY is no price in
 * either (755, shown and signed as GBP). The catalogue picks one currency (trainer/bundle/catalogue-price.ts).
 */

/** How many samples are kept per item and currency: a median of 200 is plenty, and memory stays flat. */
export const PRICE_SAMPLES = 200;

/** What was seen of one currency. `''` stands for samples whose input named no currency. */
export interface CurrencyPrices {
  /** Price samples seen in this currency, kept or not: what "most frequent" counts. */
  seen: number;
  /** When this currency was last named, on the item's clock (`ItemPrices.observed`): breaks ties. */
  lastAt: number;
  /** The kept samples (at most PRICE_SAMPLES). */
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
    if (entry.values.length < PRICE_SAMPLES) entry.values.push(price);
    entry.seen += 1;
  }
  entry.lastAt = prices.observed;
  prices.observed += 1;
}

/** The kept samples in `currency` (`''`: none named), oldest first. */
export function pricesIn(prices: ItemPrices | undefined, currency: string): number[] {
  return [...(prices?.byCurrency.get(currency)?.values ?? [])];
}
