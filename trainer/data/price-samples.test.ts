import { describe, expect, it } from 'vitest';
import { noPrices, PRICE_SAMPLES, pricesIn, recordPrice } from './price-samples';

describe('price samples', () => {
  it('keeps the latest PRICE_SAMPLES of each currency, oldest first, and counts every one', () => {
    const prices = noPrices();
    for (let i = 0; i < PRICE_SAMPLES + 50; i++) recordPrice(prices, i, 'GBP');
    recordPrice(prices, 7, 'EUR');
    // Before: the first 200 (0 … 199), whatever came after.
    expect(pricesIn(prices, 'GBP')).toEqual(Array.from({ length: PRICE_SAMPLES }, (_, i) => 50 + i));
    expect(prices.byCurrency.get('GBP')?.seen).toBe(PRICE_SAMPLES + 50);
    expect(pricesIn(prices, 'EUR')).toEqual([7]);
  });
});
