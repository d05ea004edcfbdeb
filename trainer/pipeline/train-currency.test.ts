/** What `train` writes as an item's price when the data prices it in several currencies. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainBundle } from './train';

/** One shopper's view of a product at a price, in input (time) order. */
function view(shopper: number, product: string, price: number, currency: string, minute: number) {
  return {
    type: 'track',
    event: 'Product Viewed',
    anonymousId: `a${shopper}`,
    timestamp: new Date(Date.UTC(2024, 4, 1, 10, minute)).toISOString(),
    properties: { product_id: product, price, currency },
  };
}

describe('train on prices in several currencies', { timeout: 60_000 }, () => {
  it('shows one currency per item, its most frequent one, and says which items had several', async () => {
    const events = [];
    for (let shopper = 1; shopper <= 6; shopper++) {
      // P1: three views at 10 GBP, then two at 1,500 JPY (the last currency seen).
      const currency = shopper <= 3 ? 'GBP' : 'JPY';
      if (shopper <= 5) events.push(view(shopper, 'P1', currency === 'GBP' ? 10 : 1500, currency, shopper));
      events.push(view(shopper, 'P2', 4, 'GBP', 10 + shopper));
      events.push(view(shopper, shopper % 2 ? 'P3' : 'P4', 2, 'GBP', 20 + shopper));
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-train-currency-'));
    const input = path.join(dir, 'events.jsonl');
    await writeFile(input, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const log: string[] = [];
    const result = await trainBundle({
      format: 'events',
      input,
      personal: 'item-item',
      log: (l) => log.push(l),
    });
    const p1 = result.contents.catalogue.find((item) => item.product_id === 'P1');
    // Before: 10 JPY (the median of the pooled prices, in the currency seen last).
    expect([p1?.price, p1?.currency]).toEqual([10, 'GBP']);
    expect(log).toContain(
      '  note: 1 of 4 items have prices in more than one currency in the data (such as "P1": 3 GBP, 2 JPY); the catalogue shows each in its most frequent currency, at the median of those prices',
    );
  });
});
