/**
 * Where `train` takes catalogue titles and categories from (bundle/catalogue.ts `describeItem`).
 * /v1/events takes anyone's events, so a title from events was whatever name was sent most often:
 * forged views outnumbering the shoppers set the title every shopper saw ("Refund scam: call …"),
 * even under a --catalogue that gave the product's price but no title, and one forged event set its
 * category. With a catalogue, titles and categories now come from it only; without one, `train` warns.
 */
import { describe, expect, it } from 'vitest';
import { tempFile, trackEvent } from '../test-support/event-files';
import { trainBundle } from './train';

const SCAM = 'Refund scam: call +1-555-0100 now';

/**
 * 12 genuine orders of P1-P4 under their real names, then 60 forged orders and 200 forged views of P1
 * named SCAM in category "scams" (each from another anonymous id), and forged views of a product the
 * shop does not sell, SCAM1.
 */
async function forgedEvents(): Promise<string> {
  const events = [];
  for (let shopper = 0; shopper < 12; shopper++) {
    const products = [1 + (shopper % 4), 1 + ((shopper + 1) % 4)].map((n) => ({
      product_id: `P${n}`,
      name: `Real product ${n}`,
      category: 'real',
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
  }
  const forged = { product_id: 'P1', name: SCAM, category: 'scams', price: 10, currency: 'GBP' };
  for (let i = 0; i < 60; i++)
    events.push(
      trackEvent('Order Completed', `forger${i}`, 30, {
        order_id: `f${i}`,
        products: [{ ...forged, quantity: 1 }],
      }),
    );
  for (let i = 0; i < 200; i++) events.push(trackEvent('Product Viewed', `viewer${i}`, 40, forged));
  for (let i = 0; i < 20; i++)
    events.push(trackEvent('Product Viewed', `viewer${i}`, 41, { product_id: 'SCAM1', name: SCAM }));
  return tempFile('events.jsonl', `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
}

function described(catalogue: Array<{ product_id: string; title: string; category: string }>) {
  return Object.fromEntries(catalogue.map((item) => [item.product_id, [item.title, item.category]]));
}

describe('train: where catalogue titles and categories came from', { timeout: 60_000 }, () => {
  it("takes a --catalogue's titles and categories only, the product id where it gives none", async () => {
    const catalogue = await tempFile(
      'shop.json',
      JSON.stringify([
        // Price only: the title was the forged name before.
        { product_id: 'P1', price: 12.5, currency: 'GBP' },
        { product_id: 'P2', title: 'Tea mug', price: 9, currency: 'GBP' },
        { product_id: 'P3', title: 'Candle holder', category: 'Candles' },
        { product_id: 'P4' },
      ]),
    );
    const log: string[] = [];
    const result = await trainBundle({
      format: 'events',
      input: await forgedEvents(),
      catalogue,
      personal: 'item-item',
      log: (line) => log.push(line),
    });
    expect(described(result.contents.catalogue)).toEqual({
      P1: ['P1', 'other'],
      P2: ['Tea mug', 'kitchen'],
      P3: ['Candle holder', 'Candles'],
      P4: ['P4', 'other'],
    });
    expect(JSON.stringify(result.contents.catalogue)).not.toContain('scam');
    expect(JSON.stringify(result.contents.catalogue)).not.toContain('Real product');
    expect(log).toContain(
      `note: 2 of 4 catalogue entries have no title (such as "P1"): the catalogue shows their product id, since titles in events are anyone's (give each entry a "title")`,
    );
    expect(log.some((line) => line.startsWith("warning: the catalogue's"))).toBe(false);
  });

  it('keeps titles from events without a catalogue (there is nothing else), and warns', async () => {
    const log: string[] = [];
    const result = await trainBundle({
      format: 'events',
      input: await forgedEvents(),
      personal: 'item-item',
      log: (line) => log.push(line),
    });
    // What the warning is about: the forgers' name, category and product.
    expect(described(result.contents.catalogue)).toMatchObject({
      P1: [SCAM, 'scams'],
      SCAM1: [SCAM, 'other'],
    });
    expect(log).toContain(
      `warning: the catalogue's 5 products, 5 of their titles and 4 of their categories came from events (such as "P1"), which anyone can send to /v1/events: a sender can add products and choose the titles and categories shoppers see (a title is the name sent most often, a category the last one sent). For the shop's own, pass --catalogue FILE.json with a title for each product: then titles and categories come only from it, and only its products are recommended`,
    );
  });

  it("keeps the order lines' titles (online-retail, the shop's own export) under a catalogue without them", async () => {
    const rows = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'];
    for (let customer = 0; customer < 12; customer++)
      for (const item of [`A${customer % 4}`, `A${(customer + 1) % 4}`])
        rows.push(
          `5${customer},${item},CANDLE ${item},1,2010-12-01 08:${10 + customer},2.55,${1000 + customer},UK`,
        );
    const catalogue = await tempFile(
      'shop.json',
      JSON.stringify([{ product_id: 'A0', price: 3 }, { product_id: 'A1' }]),
    );
    const log: string[] = [];
    const result = await trainBundle({
      format: 'online-retail',
      input: await tempFile('orders.csv', `${rows.join('\n')}\n`),
      catalogue,
      personal: 'item-item',
      log: (line) => log.push(line),
    });
    expect(described(result.contents.catalogue)).toEqual({
      A0: ['CANDLE A0', 'candles'],
      A1: ['CANDLE A1', 'candles'],
    });
    expect(log.filter((line) => line.includes('titles') || line.includes('no title'))).toEqual([]);
  });
});
