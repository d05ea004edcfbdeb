/**
 * The worker's consumer (what it serves from), the trainer (what the models learn from) and the
 * experiment report read the same products from an event (contracts/event-products.ts). Read three
 * ways before: a shop sending only `sku` trained a catalogue whose ids the worker never recorded, and an
 * event with a top-level product and lines gave the worker a history item training never saw.
 */
import { describe, expect, it } from 'vitest';
import { eventProductIds } from '../../contracts/event-products';
import type { StoredEvent } from '../../contracts/events';
import { eventProducts } from '../../trainer/data/event-weights';
import { activityOf } from '../../worker/src/activity/activity-of-event';

function stored(event: string, properties: StoredEvent['properties']): StoredEvent {
  return {
    type: 'track',
    event,
    properties,
    messageId: `m-${event}`,
    anonymousId: 'a1',
    timestamp: '2026-11-30T12:00:00.000Z',
    receivedAt: '2026-11-30T12:00:00.000Z',
    site: 'demo',
    bucket: 'treatment',
  } as StoredEvent;
}

const cases: Array<[string, StoredEvent, string[]]> = [
  ['a product by id', stored('Product Viewed', { product_id: 'P1' }), ['P1']],
  ['a product by sku only', stored('Product Viewed', { sku: 'SKU-1' }), ['SKU-1']],
  [
    "an order's lines, by id or sku",
    stored('Order Completed', { order_id: 'o1', products: [{ product_id: 'L1' }, { sku: 'L2' }] }),
    ['L1', 'L2'],
  ],
  [
    'lines and a top-level product: the lines',
    stored('Product Added', { product_id: 'TOP', products: [{ product_id: 'L1' }] }),
    ['L1'],
  ],
  [
    'an empty line list: the top-level product',
    stored('Product Added', { product_id: 'P2', products: [] }),
    ['P2'],
  ],
  ['no product', stored('Product Viewed', {}), []],
];

describe('one reading of the products of an event', () => {
  for (const [name, event, ids] of cases) {
    it(name, () => {
      expect(eventProductIds(event)).toEqual(ids);
      expect([...new Set(eventProducts(event).map((product) => product.id))]).toEqual(ids);
      expect([...new Set(activityOf(event).entries.map((entry) => entry.product_id))]).toEqual(ids);
    });
  }
});
