import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsSource } from './events';
import { aggregate } from './matrix';
import { readAll } from './sources';

const events = [
  {
    type: 'track',
    event: 'Product Viewed',
    anonymousId: 'a1',
    timestamp: '2024-05-01T10:00:00Z',
    properties: { product_id: 'P1' },
  },
  {
    type: 'track',
    event: 'Product Added',
    anonymousId: 'a1',
    timestamp: '2024-05-01T10:01:00Z',
    properties: { product_id: 'P1', quantity: 2 },
  },
  {
    type: 'track',
    event: 'Order Completed',
    userId: 'u9',
    anonymousId: 'a1',
    timestamp: '2024-05-01T10:05:00Z',
    site: 'shop-1',
    properties: {
      order_id: 'o1',
      products: [
        { product_id: 'P1', quantity: 2, price: 3.5, name: 'Mug' },
        { sku: 'P2', quantity: 1 },
      ],
    },
  },
  {
    type: 'track',
    event: 'Product List Viewed',
    anonymousId: 'a2',
    timestamp: '2024-05-01T10:00:00Z',
    properties: {},
  },
  { type: 'page', anonymousId: 'a2', timestamp: '2024-05-01T10:00:00Z' },
  {
    type: 'track',
    event: 'Product Viewed',
    timestamp: '2024-05-01T10:00:00Z',
    properties: { product_id: 'P3' },
  },
  { type: 'track', event: 'Product Viewed', anonymousId: 'a3', properties: { product_id: 'P3' } },
];

describe('events reader', () => {
  it('weights views < add-to-cart < purchases and counts what carries no product signal', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    await writeFile(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n{not json\n`);
    const source = eventsSource(file);
    const rows = await readAll(source);
    expect(rows.map((r) => [r.user, r.item, r.weight, r.purchase, r.quantity])).toEqual([
      ['a1', 'P1', 1, false, 0],
      ['a1', 'P1', 3, false, 0],
      ['u9', 'P1', 5, true, 2],
      ['u9', 'P2', 5, true, 1],
    ]);
    expect(rows[2]?.store).toBe('shop-1');
    expect(rows[2]?.basket).toBe('order:o1');
    expect(source.items.get('P1')?.prices).toEqual([3.5]);
    const reasons = Object.fromEntries(source.report.skipped().map((s) => [s.reason, s.firstLines]));
    expect(reasons).toEqual({
      'event without product signal': [4],
      'not a track event': [5],
      'invalid event: anonymousId anonymousId or userId is required': [6],
      'missing timestamp': [7],
      'not valid JSON': [8],
    });
    // Repeats add up with diminishing returns: view 1 + add 3 = 4 → 1 + ln 4.
    const m = aggregate(rows);
    expect(m.matrix.values[0]).toBeCloseTo(1 + Math.log(4), 6);
  });

  it("keeps the events' currency for the catalogue, and ignores a negative price", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const order = (product: Record<string, unknown>, currency?: string) => ({
      type: 'track',
      event: 'Order Completed',
      anonymousId: 'a1',
      timestamp: '2024-05-01T10:05:00Z',
      properties: { order_id: 'o1', ...(currency ? { currency } : {}), products: [product] },
    });
    const lines = [
      order({ product_id: 'E1', price: 4 }, 'eur'),
      order({ product_id: 'U1', price: 5, currency: 'USD' }),
      // A refund line with a negative price used to end training with a catalogue error.
      order({ product_id: 'E1', price: -3 }, 'EUR'),
    ];
    await writeFile(file, `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const source = eventsSource(file);
    await readAll(source);
    expect(source.items.get('E1')).toMatchObject({ currency: 'EUR', prices: [4] });
    expect(source.items.get('U1')).toMatchObject({ currency: 'USD', prices: [5] });
  });
});
