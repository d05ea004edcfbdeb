import { describe, expect, it } from 'vitest';
import { type ItemObservation, type ItemStats, observeItem } from '../data/types';
import { buildCatalogue } from './catalogue';
import { mixedCurrencyNote, roundToMinorUnits } from './catalogue-price';

/** Item stats from observations in input order, as a reader records them. */
function stats(
  observations: Array<Omit<ItemObservation, 'item'> & { item?: string }>,
): Map<string, ItemStats> {
  const items = new Map<string, ItemStats>();
  for (const obs of observations) observeItem(items, { item: 'P1', ...obs });
  return items;
}

const gbp = { price: 10, currency: 'GBP' };
const jpy = { price: 1500, currency: 'JPY' };

/** The catalogue's price and currency of P1. */
function shown(items: Map<string, ItemStats>, shop: Parameters<typeof buildCatalogue>[3] = []) {
  const [item] = buildCatalogue(['P1'], items, [1], shop);
  return [item?.price, item?.currency];
}

describe('catalogue price per currency', () => {
  it('shows the median of the most frequent currency, never a pool of several', () => {
    // Before: the median of the pool (10, 10, 10, 1500, 1500) labelled with the last currency seen, JPY.
    expect(shown(stats([gbp, gbp, gbp, jpy, jpy]))).toEqual([10, 'GBP']);
    expect(shown(stats([jpy, jpy, jpy, gbp, gbp]))).toEqual([1500, 'JPY']);
  });

  it('breaks a tie by the currency named last (the shop current one), never 755 GBP', () => {
    // Before: 755, the median of the pool, in whichever currency came last.
    expect(shown(stats([gbp, gbp, jpy, jpy]))).toEqual([1500, 'JPY']);
    expect(shown(stats([jpy, jpy, gbp, gbp]))).toEqual([10, 'GBP']);
  });

  it('counts prices without a currency in the chosen one, and a currency without a price as named', () => {
    expect(shown(stats([{ price: 4 }, { price: 6, currency: 'eur' }]))).toEqual([5, 'EUR']);
    expect(shown(stats([{ price: 4 }]))).toEqual([4, 'GBP']);
    // A refund line's negative price is no price, but its currency still names the item's.
    expect(shown(stats([{ price: -3, currency: 'USD' }]))).toEqual([0, 'USD']);
  });

  it("prefers the shop catalogue entry's currency when the data priced the item in it", () => {
    const items = stats([gbp, gbp, gbp, jpy]);
    expect(shown(items, [{ product_id: 'P1', currency: 'JPY' }])).toEqual([1500, 'JPY']);
    expect(shown(items, [{ product_id: 'P1', price: 12, currency: 'EUR' }])).toEqual([12, 'EUR']);
  });

  it("gives no price in the entry's currency when the data has none in it, never another currency's", () => {
    // Before: 10, the GBP median, shown and signed as 10 JPY.
    const items = stats([gbp, gbp]);
    for (const data of ['orders', 'events'] as const) {
      const [item] = buildCatalogue(
        ['P1'],
        items,
        [1],
        [{ product_id: 'P1', currency: 'JPY' }],
        undefined,
        'GBP',
        data,
      );
      expect([item?.price, item?.currency, item?.price_source]).toEqual([0, 'JPY', 'none']);
    }
    // Prices whose input named no currency count in the entry's.
    expect(shown(stats([{ price: 4 }]), [{ product_id: 'P1', currency: 'JPY' }])).toEqual([4, 'JPY']);
  });

  it('says how many items had several currencies, with one example', () => {
    const items = stats([gbp, gbp, jpy, { item: 'P2', ...gbp }]);
    expect(mixedCurrencyNote(['P1', 'P2'], (id) => items.get(id)?.prices)).toBe(
      'note: 1 of 2 items have prices in more than one currency in the data (such as "P1": 2 GBP, 1 JPY); the catalogue shows each in its most frequent currency, at the median of those prices',
    );
    expect(mixedCurrencyNote(['P2'], (id) => items.get(id)?.prices)).toBeUndefined();
  });
});

describe('catalogue price over time', () => {
  it("is the median of an item's latest prices, not of its first weeks'", () => {
    // A best seller sold 200 times at 2.95, then 150 times at 3.75 (21481 in the UCI file): 3.75 now.
    const items = stats([
      ...Array.from({ length: 200 }, () => ({ price: 2.95, currency: 'GBP' })),
      ...Array.from({ length: 150 }, () => ({ price: 3.75, currency: 'GBP' })),
    ]);
    // Before: 2.95, the median of the first 200 samples.
    expect(shown(items)).toEqual([3.75, 'GBP']);
  });
});

describe("catalogue price in its currency's minor units", () => {
  /** P1's catalogue price and where it came from. */
  function priced(items: Map<string, ItemStats>, shop: Parameters<typeof buildCatalogue>[3] = []) {
    const [item] = buildCatalogue(['P1'], items, [1], shop, undefined, undefined, 'orders');
    return [item?.price, item?.currency, item?.price_source];
  }

  it('keeps the fils of a KWD price, from the data or a shop catalogue', () => {
    // Before: 0.13 and 1.24, every price rounded to 2 decimals.
    expect(priced(stats([{ price: 0.125, currency: 'KWD' }]))).toEqual([0.125, 'KWD', 'orders']);
    expect(
      priced(stats([{ price: 0.125, currency: 'KWD' }]), [
        { product_id: 'P1', price: 1.235, currency: 'KWD' },
      ]),
    ).toEqual([1.235, 'KWD', 'catalogue']);
  });

  it('rounds a median of yen to whole yen', () => {
    // Before: 1500.5 JPY.
    const items = stats([
      { price: 1500, currency: 'JPY' },
      { price: 1501, currency: 'JPY' },
    ]);
    expect(priced(items)).toEqual([1501, 'JPY', 'orders']);
  });

  it('rounds pence half up, and a price that rounds to 0 is no price, not a free item', () => {
    // Before: 1.00 (1.005 × 100 is 100.4999… in binary), and 0 GBP marked as the orders' price.
    expect(priced(stats([{ price: 1.005, currency: 'GBP' }]))).toEqual([1.01, 'GBP', 'orders']);
    expect(priced(stats([{ price: 0.004, currency: 'GBP' }]))).toEqual([0, 'GBP', 'none']);
    // A shop catalogue's price is kept as given, and its 0 is a price (the shop says it is free).
    expect(priced(stats([]), [{ product_id: 'P1', price: 2.555, currency: 'GBP' }])).toEqual([
      2.555,
      'GBP',
      'catalogue',
    ]);
    expect(priced(stats([]), [{ product_id: 'P1', price: 0, currency: 'GBP' }])).toEqual([
      0,
      'GBP',
      'catalogue',
    ]);
  });

  it('rounds to 2 decimals in a currency Intl cannot format', () => {
    expect(roundToMinorUnits(1.2345, 'nope')).toBe(1.23);
    expect(roundToMinorUnits(1.2345, 'XYZ')).toBe(1.23);
  });
});
