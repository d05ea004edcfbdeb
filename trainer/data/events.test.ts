import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsSource, REPEATED_MESSAGE_ID, readEventRecords } from './events';
import { anonymousUserKey } from './identities';
import { aggregate } from './matrix';
import { pricesIn } from './price-samples';
import { readAll } from './sources';
import { ReadReport } from './types';

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
    // a1 browsed, then ordered signed in as u9 (the order carries both ids): one shopper.
    expect(rows.map((r) => [r.user, r.item, r.weight, r.purchase, r.quantity])).toEqual([
      ['u9', 'P1', 1, false, 0],
      ['u9', 'P1', 3, false, 0],
      ['u9', 'P1', 5, true, 2],
      ['u9', 'P2', 5, true, 1],
    ]);
    // The entry the worker's consumer records for each event, for `eval --history served`.
    expect(rows.map((r) => r.activity)).toEqual(['view', 'cart', 'purchase', 'purchase']);
    expect(rows[2]?.store).toBe('shop-1');
    expect(rows[2]?.basket).toBe('order:o1');
    expect(pricesIn(source.items.get('P1')?.prices, '')).toEqual([3.5]);
    const reasons = Object.fromEntries(source.report.skipped().map((s) => [s.reason, s.firstLines]));
    expect(reasons).toEqual({
      'event without product signal': [4],
      'not a track event': [5],
      'invalid event: anonymousId anonymousId or userId is required': [6],
      'missing timestamp': [7],
      'not valid JSON': [8],
    });
    // Repeats add up with diminishing returns: view 1 + add 3 + purchase 5 = 9 → 1 + ln 9.
    const m = aggregate(rows);
    expect(m.users).toEqual(['u9']);
    expect(m.matrix.values[0]).toBeCloseTo(1 + Math.log(9), 6);
  });

  it("an event named after one of Object's own members carries no signal (no function for a weight, no NaN)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const named = (event: string, minute: number) => ({
      type: 'track',
      event,
      anonymousId: 'a1',
      timestamp: `2024-05-01T10:0${minute}:00Z`,
      properties: { product_id: 'P1' },
    });
    const lines = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'Product Viewed'].map(named);
    await writeFile(file, `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const source = eventsSource(file);
    const rows = await readAll(source);
    expect(rows.map((r) => [r.item, r.weight, r.activity])).toEqual([['P1', 1, 'view']]);
    expect(source.report.skipped()).toEqual([
      expect.objectContaining({ reason: 'event without product signal', firstLines: [1, 2, 3, 4] }),
    ]);
    expect(aggregate(rows).matrix.values[0]).toBeCloseTo(1, 6);
  });

  it("reads a Product Removed as the worker's removal entry, which is no signal for the models", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const cart = (event: string, anonymousId: string, product: string, minute: number) => ({
      type: 'track',
      event,
      anonymousId,
      timestamp: `2024-05-01T10:0${minute}:00Z`,
      properties: { product_id: product, price: 7, name: 'Jug' },
    });
    const lines = [
      cart('Product Added', 'a1', 'P1', 1),
      cart('Product Removed', 'a1', 'P1', 2),
      // A shopper and a product seen only in a removal.
      cart('Product Removed', 'a2', 'P9', 3),
    ];
    await writeFile(file, `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const source = eventsSource(file);
    const rows = await readAll(source);
    // Before, dropped at reading ('event without product signal'): the cart eval masks never lost P1.
    expect(rows.map((r) => [r.item, r.weight, r.purchase, r.activity])).toEqual([
      ['P1', 3, false, 'cart'],
      ['P1', 0, false, 'removed'],
      ['P9', 0, false, 'removed'],
    ]);
    expect(source.report.rows).toEqual({ read: 3, kept: 3 });
    // Its description is the add's: a product only ever removed is not described.
    expect(source.items.has('P9')).toBe(false);
    // The matrix the models learn from: P1's add alone; no row or column from a removal.
    const m = aggregate(rows);
    expect(m.users).toEqual([anonymousUserKey('a1')]);
    expect(m.items).toEqual(['P1']);
    expect(m.matrix.values[0]).toBeCloseTo(1 + Math.log(3), 6);
  });

  it('a cancellation (an Order Completed worth less than 0) is no purchase: skipped and counted', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const order = (revenue: number, minute: number) => ({
      type: 'track',
      event: 'Order Completed',
      anonymousId: 'a1',
      timestamp: `2024-05-01T10:0${minute}:00Z`,
      properties: { order_id: `o${minute}`, revenue, products: [{ product_id: 'P1', quantity: 1 }] },
    });
    await writeFile(file, `${[order(12, 1), order(-12, 2)].map((e) => JSON.stringify(e)).join('\n')}\n`);
    const source = eventsSource(file);
    const rows = await readAll(source);
    expect(rows.map((r) => [r.item, r.purchase, r.basket])).toEqual([['P1', true, 'order:o1']]);
    expect(source.report.skipped()).toEqual([
      expect.objectContaining({ reason: 'a cancellation (an order worth less than 0)', firstLines: [2] }),
    ]);
  });

  it('an order line of quantity 0 is no purchase (nor any interaction): skipped and counted', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const order = (minute: number, products: Array<Record<string, unknown>>) => ({
      type: 'track',
      event: 'Order Completed',
      anonymousId: 'a1',
      timestamp: `2024-05-01T10:0${minute}:00Z`,
      properties: { order_id: `o${minute}`, products },
    });
    const lines = [
      // P2 listed at quantity 0 beside P1 bought; no quantity is one.
      order(1, [
        { product_id: 'P1', quantity: 1 },
        { product_id: 'P2', quantity: 0, price: 9, name: 'Vase' },
        { product_id: 'P3' },
      ]),
      // An order of nothing but a quantity-0 line.
      order(2, [{ product_id: 'P4', quantity: '0' }]),
      // A product viewed with quantity 0 is still a view: only an order's lines are purchases.
      { ...order(3, []), event: 'Product Viewed', properties: { product_id: 'P4', quantity: 0 } },
    ];
    await writeFile(file, `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const source = eventsSource(file);
    const rows = await readAll(source);
    // Before, P2 and P4 were purchases of weight 5 (quantity 0), P4 in its own basket.
    expect(rows.map((r) => [r.item, r.weight, r.purchase, r.quantity, r.basket])).toEqual([
      ['P1', 5, true, 1, 'order:o1'],
      ['P3', 5, true, 1, 'order:o1'],
      ['P4', 1, false, 0, `${anonymousUserKey('a1')}:2024-05-01`],
    ]);
    expect(source.items.has('P2')).toBe(false);
    expect(source.report.rows).toEqual({ read: 3, kept: 2 });
    expect(source.report.skipped()).toEqual([
      expect.objectContaining({
        reason: 'order line of quantity 0 (not bought)',
        count: 2,
        firstLines: [1, 2],
      }),
    ]);
  });

  it('reads an event whose messageId came before once: appended exports do not weigh it twice', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const viewed = {
      type: 'track',
      event: 'Product Viewed',
      messageId: 'm-1',
      anonymousId: 'a1',
      timestamp: '2024-05-01T10:00:00Z',
      properties: { product_id: 'P1' },
    };
    const added = { ...viewed, event: 'Product Added', messageId: 'm-2' };
    await writeFile(file, `${[viewed, added, viewed].map((e) => JSON.stringify(e)).join('\n')}\n`);
    const source = eventsSource(file);
    const rows = await readAll(source);
    expect(rows.map((r) => r.weight)).toEqual([1, 3]);
    expect(source.report.skipped()).toEqual([expect.objectContaining({ firstLines: [3] })]);
  });

  it("reads a stored event over the intake's 32 KB (the worker's own fields added to one at the limit)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const big = {
      type: 'track',
      event: 'Order Completed',
      anonymousId: 'a1',
      timestamp: '2024-05-01T10:00:00Z',
      receivedAt: '2024-05-01T10:00:01Z',
      site: 'shop-1',
      bucket: 'treatment',
      model_version: null,
      properties: {
        order_id: 'o-big',
        products: [{ product_id: 'P1', quantity: 1 }],
        note: 'x'.repeat(33_000),
      },
    };
    await writeFile(file, `${JSON.stringify(big)}\n`);
    const rows = await readAll(eventsSource(file));
    expect(rows.map((r) => r.item)).toEqual(['P1']);
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
    expect(pricesIn(source.items.get('E1')?.prices, 'EUR')).toEqual([4]);
    expect(pricesIn(source.items.get('U1')?.prices, 'USD')).toEqual([5]);
  });

  it("gives a browser's activity from before sign-in to its shopper, whichever event links them", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-'));
    const file = path.join(dir, 'events.jsonl');
    const at = (minute: number) => `2024-05-01T10:${String(minute).padStart(2, '0')}:00Z`;
    const viewed = (ids: { anonymousId?: string; userId?: string }, product: string, minute: number) => ({
      type: 'track',
      event: 'Product Viewed',
      ...ids,
      timestamp: at(minute),
      properties: { product_id: product },
    });
    const lines = [
      viewed({ anonymousId: 'b1' }, 'P1', 1),
      viewed({ anonymousId: 'b1' }, 'P2', 2),
      // rx.identify: the link comes from an identify event, which itself names no product.
      { type: 'identify', anonymousId: 'b1', userId: 'alice', timestamp: at(3), traits: {} },
      viewed({ anonymousId: 'b1', userId: 'alice' }, 'P3', 4),
      // Browsing linked only by a later event (signed in on the next visit).
      viewed({ anonymousId: 'b2' }, 'P4', 5),
      viewed({ anonymousId: 'b2', userId: 'bob' }, 'P5', 50),
      // A shared tablet: two shoppers signed in on it, so its anonymous browsing stays its own.
      viewed({ anonymousId: 'shared' }, 'P6', 6),
      viewed({ anonymousId: 'shared', userId: 'carol' }, 'P7', 7),
      viewed({ anonymousId: 'shared', userId: 'dave' }, 'P8', 8),
      // Never signed in.
      viewed({ anonymousId: 'b3' }, 'P9', 9),
      // A source that sends the user id as the anonymous id too: nothing to merge, so not counted.
      viewed({ anonymousId: 'erin' }, 'P10', 10),
      viewed({ anonymousId: 'erin', userId: 'erin' }, 'P11', 11),
    ];
    await writeFile(file, `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const source = eventsSource(file);
    const rows = await readAll(source);
    expect(rows.map((r) => [r.user, r.item])).toEqual([
      ['alice', 'P1'],
      ['alice', 'P2'],
      ['alice', 'P3'],
      ['bob', 'P4'],
      ['bob', 'P5'],
      [anonymousUserKey('shared'), 'P6'],
      ['carol', 'P7'],
      ['dave', 'P8'],
      [anonymousUserKey('b3'), 'P9'],
      ['erin', 'P10'],
      ['erin', 'P11'],
    ]);
    // The day's session follows the shopper too: one "bought together" row per shopper and day.
    expect(new Set(rows.filter((r) => r.user === 'alice').map((r) => r.basket))).toEqual(
      new Set(['alice:2024-05-01']),
    );
    // Still anonymous: the ids no one (or more than one) signed in on, whose activity the worker keeps
    // only ACTIVITY_DAYS (eval --history served).
    expect(rows.filter((r) => r.anonymous).map((r) => r.anonymousId)).toEqual(['shared', 'b3']);
    expect(source.report.notes).toEqual([
      'identity stitching: the activity of 2 anonymous id(s) from before sign-in joined 2 signed-in shopper(s)',
      'identity stitching: 1 anonymous id(s) seen with more than one user id (a shared device) kept apart',
    ]);
    expect(source.report.skipped()).toEqual([
      { reason: 'identify event (links ids, no product)', count: 1, firstLines: [3] },
    ]);
  });
});

describe('events reader: anonymous ids and user ids', () => {
  it('keeps a browser apart from the customer whose user id it equals', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-ns-'));
    const file = path.join(dir, 'events.jsonl');
    const viewed = (ids: object, product: string, minute: number) => ({
      type: 'track',
      event: 'Product Viewed',
      ...ids,
      timestamp: `2024-05-01T10:0${minute}:00Z`,
      properties: { product_id: product },
    });
    const lines = [
      // A browser whose anonymous id (a source's own numbering) is "42", never signed in ...
      viewed({ anonymousId: '42' }, 'P1', 1),
      // ... and customer 42, signed in on another browser: two people, as the worker keeps them.
      viewed({ anonymousId: 'web-9', userId: '42' }, 'P2', 2),
    ];
    await writeFile(file, `${lines.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const rows = await readAll(eventsSource(file));
    const m = aggregate(rows);
    expect(m.users).toHaveLength(2);
    expect(m.users).toContain('42');
    expect(rows.map((r) => [r.user, r.anonymous ?? false])).toEqual([
      [anonymousUserKey('42'), true],
      ['42', false],
    ]);
    // Their day's sessions are two baskets too.
    expect(new Set(rows.map((r) => r.basket)).size).toBe(2);
  });
});

describe('readEventRecords', () => {
  it('with uniqueMessageIds, reads a repeated messageId once and counts the repeat as skipped', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-events-unique-'));
    const file = path.join(dir, 'events.jsonl');
    const shown = { type: 'track', event: 'Recommendation Shown', messageId: 'm1', anonymousId: 'a1' };
    const clicked = { type: 'track', event: 'Recommendation Clicked', messageId: 'm2', anonymousId: 'a1' };
    await writeFile(
      file,
      `${[shown, clicked, shown, clicked, { type: 'page' }].map((e) => JSON.stringify(e)).join('\n')}\n`,
    );
    const read = async (uniqueMessageIds?: boolean) => {
      const report = new ReadReport();
      const lines: number[] = [];
      for await (const [line] of readEventRecords(file, report, { uniqueMessageIds })) lines.push(line);
      return { lines, report };
    };
    const unique = await read(true);
    expect(unique.lines).toEqual([1, 2, 5]);
    expect(unique.report.rows.read).toBe(2);
    expect(unique.report.skipped()).toEqual([{ reason: REPEATED_MESSAGE_ID, count: 2, firstLines: [3, 4] }]);
    // The trainer's reading is as before: every line.
    expect((await read()).lines).toEqual([1, 2, 3, 4, 5]);
  });
});
