import { describe, expect, it } from 'vitest';
import { type ItemObservation, type ItemStats, observeItem } from '../data/types';
import { buildCatalogue } from './catalogue';
import { mixedCurrencyNote } from './catalogue-price';

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
