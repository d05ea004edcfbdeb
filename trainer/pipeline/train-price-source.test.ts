/**
 * Where `train` says each catalogue price came from (contracts/manifest.ts PriceSourceSchema): the
 * worker signs price tokens only for the shop's own prices, never for a median of events, which
 * anyone can post to /v1/events (250 forged views at 0.01 made an item's price 0.01, signed).
 */
import { describe, expect, it } from 'vitest';
import { isSignablePrice } from '../../contracts/manifest';
import { tempFile, trackEvent } from '../test-support/event-files';
import { trainBundle } from './train';

/** Genuine orders at 10 GBP of P1-P4, P5 viewed without a price, then 250 forged views of P1 at 0.01. */
async function attackedEvents(): Promise<string> {
  const events = [];
  for (let shopper = 0; shopper < 12; shopper++) {
    const products = [`P${1 + (shopper % 4)}`, `P${1 + ((shopper + 1) % 4)}`].map((id) => ({
      product_id: id,
      price: 10,
      quantity: 1,
    }));
    events.push(
      trackEvent('Order Completed', `s${shopper}`, shopper, {
        order_id: `o${shopper}`,
        currency: 'GBP',
        products,
      }),
    );
    events.push(trackEvent('Product Viewed', `s${shopper}`, 20 + shopper, { product_id: 'P5' }));
  }
  for (let i = 0; i < 250; i++)
    events.push(
      trackEvent('Product Viewed', `attacker${i}`, 40, { product_id: 'P1', price: 0.01, currency: 'GBP' }),
    );
  return tempFile('events.jsonl', `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
}

function sources(catalogue: Array<{ product_id: string; price: number; price_source?: string }>) {
  return Object.fromEntries(catalogue.map((item) => [item.product_id, [item.price, item.price_source]]));
}

describe('train: where catalogue prices came from', { timeout: 60_000 }, () => {
  it('marks prices from events, which the worker does not sign, and says how to give trusted ones', async () => {
    const log: string[] = [];
    const result = await trainBundle({
      format: 'events',
      input: await attackedEvents(),
      personal: 'item-item',
      log: (line) => log.push(line),
    });
    expect(sources(result.contents.catalogue)).toEqual({
      // The forged median: shown, but marked, so never signed.
      P1: [0.01, 'events'],
      P2: [10, 'events'],
      P3: [10, 'events'],
      P4: [10, 'events'],
      P5: [0, 'none'],
    });
    expect(result.contents.catalogue.filter(isSignablePrice)).toEqual([]);
    expect(log).toContain(
      'warning: 4 of 5 catalogue prices came from events (such as "P1"), which anyone can send to /v1/events: the worker shows them but signs no price token for them (GET /v1/prices answers "token": null, so a checkout charges its own price). For trusted prices, pass --catalogue FILE.json with a price and a currency for each product',
    );
    expect(log).toContain(
      'note: 1 of 5 items have no price in the data or the catalogue (such as "P5"): the worker shows them without a price (recommendations say "price": null) and GET /v1/prices leaves them out, so they have no price token',
    );
  });

  it("trusts --catalogue prices that name their currency; one without takes events' currency, so not", async () => {
    const catalogue = await tempFile(
      'shop.json',
      JSON.stringify([
        { product_id: 'P1', price: 12.5, currency: 'GBP' },
        { product_id: 'P2', price: 9 },
        { product_id: 'P3', title: 'no price' },
        { product_id: 'P4', price: 0, currency: 'GBP' },
      ]),
    );
    const log: string[] = [];
    const result = await trainBundle({
      format: 'events',
      input: await attackedEvents(),
      catalogue,
      personal: 'item-item',
      log: (line) => log.push(line),
    });
    expect(sources(result.contents.catalogue)).toEqual({
      P1: [12.5, 'catalogue'],
      P2: [9, 'events'],
      P3: [10, 'events'],
      P4: [0, 'catalogue'],
    });
    expect(result.contents.catalogue.filter(isSignablePrice).map((item) => item.product_id)).toEqual([
      'P1',
      'P4',
    ]);
    expect(log.some((line) => line.startsWith('warning: 2 of 4 catalogue prices came from events'))).toBe(
      true,
    );
  });

  it("trusts the shop's own order lines (online-retail) and its catalogue, and warns of nothing", async () => {
    const rows = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'];
    for (let customer = 0; customer < 12; customer++) {
      for (const item of [`A${customer % 4}`, `A${(customer + 1) % 4}`])
        rows.push(
          `5${customer},${item},THING ${item},1,2010-12-01 08:${10 + customer},2.55,${1000 + customer},UK`,
        );
    }
    const input = await tempFile('orders.csv', `${rows.join('\n')}\n`);
    const log: string[] = [];
    const plain = await trainBundle({
      format: 'online-retail',
      input,
      personal: 'item-item',
      log: (l) => log.push(l),
    });
    expect(new Set(plain.contents.catalogue.map((item) => item.price_source))).toEqual(new Set(['orders']));
    expect(plain.contents.catalogue.every(isSignablePrice)).toBe(true);
    const catalogue = await tempFile(
      'shop.json',
      JSON.stringify([{ product_id: 'A0', price: 3 }, { product_id: 'A1' }]),
    );
    const withCatalogue = await trainBundle({
      format: 'online-retail',
      input,
      catalogue,
      personal: 'item-item',
      log: (l) => log.push(l),
    });
    // Without a currency in the entry, the order lines' (GBP) is the shop's own too.
    expect(sources(withCatalogue.contents.catalogue)).toEqual({ A0: [3, 'catalogue'], A1: [2.55, 'orders'] });
    expect(log.filter((line) => line.startsWith('warning:') || line.includes('no price'))).toEqual([]);
  });
});
