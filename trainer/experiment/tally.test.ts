import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { InputError } from '../data/lines';
import { ReadReport } from '../data/types';
import { experimentReport } from './report';
import { formatReport } from './table';
import { ExperimentTally, type TallyOptions } from './tally';

const DAY = 86_400_000;
let message = 0;

/** A stored event; `day` and `hour` place it in November 2026. */
function stored(fields: Partial<StoredEvent> & { day?: number; hour?: number }): StoredEvent {
  const { day = 1, hour = 10, ...rest } = fields;
  message += 1;
  return {
    type: 'track',
    messageId: `m${message}`,
    timestamp: new Date(Date.UTC(2026, 10, day, hour)).toISOString(),
    receivedAt: new Date(Date.UTC(2026, 10, day, hour)).toISOString(),
    site: 'shop',
    bucket: 'treatment',
    model_version: null,
    ...rest,
  };
}

const order = (
  anonymousId: string | undefined,
  orderId: string,
  properties: StoredEvent['properties'] = {},
  extra: Partial<StoredEvent> & { day?: number; hour?: number } = {},
) =>
  stored({
    event: 'Order Completed',
    ...(anonymousId ? { anonymousId } : {}),
    properties: { order_id: orderId, ...properties },
    ...extra,
  });

function tally(events: StoredEvent[], options: Partial<TallyOptions> = {}) {
  const report = new ReadReport();
  const t = new ExperimentTally({ attributionMs: 7 * DAY, ...options }, report);
  events.forEach((event, i) => {
    t.add(event as unknown as Record<string, unknown>, i + 1);
  });
  return { result: t.finish(), report };
}

describe('ExperimentTally', () => {
  it('counts browsers per arm, who bought, and what each spent, per currency', () => {
    const { result } = tally([
      stored({ type: 'page', anonymousId: 'a' }),
      stored({ type: 'page', anonymousId: 'b' }),
      stored({ type: 'page', anonymousId: 'c', bucket: 'holdout' }),
      order('a', 'o1', { revenue: 20, currency: 'gbp' }),
      order('a', 'o2', { revenue: 5, currency: 'GBP' }),
      order('c', 'o3', { revenue: 8, currency: 'EUR' }, { bucket: 'holdout' }),
    ]);
    const { treatment, holdout } = result.arms;
    expect(treatment).toMatchObject({ shoppers: 2, converted: 1, orders: 2 });
    expect(treatment.revenue.GBP).toEqual({ n: 2, sum: 25, sumOfSquares: 625 });
    expect(holdout).toMatchObject({ shoppers: 1, converted: 1, orders: 1 });
    expect(holdout.revenue.EUR).toEqual({ n: 1, sum: 8, sumOfSquares: 64 });
    expect(treatment.ordersByCurrency).toEqual({ GBP: 2 });
  });

  it('counts an order reported twice once, and gives a user-only order to its one browser', () => {
    const { result } = tally([
      // The browser reports the order; the shop's server reports it again under the user id alone.
      stored({ type: 'identify', anonymousId: 'a', userId: 'u1', bucket: 'holdout' }),
      order('a', 'o1', { revenue: 10, currency: 'GBP' }, { bucket: 'holdout' }),
      order(undefined, 'o1', { revenue: 10, currency: 'GBP' }, { userId: 'u1', bucket: 'treatment' }),
      // Only the server reports this one: it is the browser's, in the browser's arm.
      order(undefined, 'o2', { revenue: 4, currency: 'GBP' }, { userId: 'u1', bucket: 'treatment' }),
    ]);
    expect(result.arms.holdout).toMatchObject({ shoppers: 1, converted: 1, orders: 2 });
    expect(result.arms.holdout.revenue.GBP?.sum).toBe(14);
    expect(result.arms.treatment.shoppers).toBe(0);
    expect(result.repeatedOrders).toBe(1);
  });

  it('leaves out user-only orders of a user seen with several browsers or none, and says so', () => {
    const { result } = tally([
      stored({ type: 'identify', anonymousId: 'a', userId: 'u1' }),
      stored({ type: 'identify', anonymousId: 'b', userId: 'u1' }),
      order(undefined, 'o1', { revenue: 10 }, { userId: 'u1' }),
      order(undefined, 'o2', { revenue: 10 }, { userId: 'u2' }),
    ]);
    expect(result.arms.treatment).toMatchObject({ shoppers: 2, converted: 0 });
    expect(result.unassigned).toEqual({ userIds: 2, orders: 2 });
    expect(experimentReport(result).warnings.join('\n')).toContain(
      '2 orders were reported under 2 user ids alone',
    );
  });

  it('does not call an order in no arm when a browser reported it (it is counted there)', () => {
    const { result } = tally([
      // u1 was seen with two browsers, so its own reports go to no arm; but b1 reported o1 itself.
      stored({ type: 'identify', anonymousId: 'b1', userId: 'u1' }),
      stored({ type: 'identify', anonymousId: 'b2', userId: 'u1' }),
      order('b1', 'o1', { revenue: 50, currency: 'GBP' }),
      order(undefined, 'o1', { revenue: 50, currency: 'GBP' }, { userId: 'u1' }),
    ]);
    expect(result.arms.treatment).toMatchObject({ shoppers: 2, converted: 1, orders: 1 });
    expect(result.unassigned).toEqual({ userIds: 0, orders: 0 });
    expect(result.repeatedOrders).toBe(1);
    expect(experimentReport(result).warnings.join('\n')).not.toContain('user ids alone');
  });

  it('counts an order_id two browsers reported once, site-wide, for the first stored report', () => {
    const received = (hour: number) => new Date(Date.UTC(2026, 10, 1, hour)).toISOString();
    const events = [
      // b2's report was stored first (its receivedAt), though it comes later in the file.
      order('b1', 'o1', { revenue: 50, currency: 'GBP' }, { receivedAt: received(12) }),
      order('b2', 'o1', { revenue: 50, currency: 'GBP' }, { bucket: 'holdout', receivedAt: received(11) }),
      // The same order under the user id alone too: still one order.
      stored({ type: 'identify', anonymousId: 'b1', userId: 'u1' }),
      order(undefined, 'o1', { revenue: 50, currency: 'GBP' }, { userId: 'u1' }),
      // And under a second user id alone with no browser: not an order in no arm either.
      order(undefined, 'o1', { revenue: 50, currency: 'GBP' }, { userId: 'u9' }),
    ];
    const { result } = tally(events);
    expect(result.arms.holdout).toMatchObject({ shoppers: 1, converted: 1, orders: 1 });
    expect(result.arms.holdout.revenue.GBP?.sum).toBe(50);
    expect(result.arms.treatment).toMatchObject({ shoppers: 1, converted: 0, orders: 0 });
    expect(result.arms.treatment.revenue.GBP).toBeUndefined();
    expect(result.unassigned).toEqual({ userIds: 0, orders: 0 });
    expect(result.repeatedOrders).toBe(3);
    // In any order of the events, the same arm gets it.
    expect(tally([...events].reverse()).result.arms).toEqual(result.arms);
  });

  it("a browser's own earlier repeat of a shared order is its report's time, in any read order", () => {
    const received = (hour: number, minute: number) =>
      new Date(Date.UTC(2026, 10, 1, hour, minute)).toISOString();
    const a = (minute: number) =>
      order('a', 'o1', { revenue: 50, currency: 'GBP' }, { receivedAt: received(10, minute) });
    const b = order(
      'b',
      'o1',
      { revenue: 50, currency: 'GBP' },
      { bucket: 'holdout', receivedAt: received(10, 3) },
    );
    // a at 10:05, a again at 10:01 (a reloaded confirmation page), b at 10:03: a's 10:01 is the first.
    for (const events of [
      [a(5), a(1), b],
      [a(1), a(5), b],
      [b, a(5), a(1)],
    ]) {
      const { result } = tally(events);
      expect(result.arms.treatment).toMatchObject({ converted: 1, orders: 1 });
      expect(result.arms.holdout).toMatchObject({ converted: 0, orders: 0 });
    }
  });

  it("counts a browser's first stored report of a repeated order, whichever is read first", () => {
    // One browser reports o1 twice with different values (a reloaded confirmation page after an edit);
    // a file has them in line order, MongoDB by timestamp: the same events, the same revenue.
    const at = (hour: number, minute: number) => new Date(Date.UTC(2026, 10, 1, hour, minute)).toISOString();
    const first = order(
      'a',
      'o1',
      { revenue: 30, currency: 'GBP' },
      { timestamp: at(10, 9), receivedAt: at(10, 1), messageId: 'm-z' },
    );
    const second = order(
      'a',
      'o1',
      { revenue: 45, currency: 'GBP' },
      { timestamp: at(10, 0), receivedAt: at(10, 2), messageId: 'm-a' },
    );
    // A tie on receivedAt: the smaller messageId.
    const tied = order(
      'a',
      'o1',
      { revenue: 60, currency: 'GBP' },
      { timestamp: at(10, 0), receivedAt: at(10, 1), messageId: 'm-y' },
    );
    for (const events of [
      [first, second],
      [second, first],
    ]) {
      const { result } = tally(events);
      expect(result.arms.treatment).toMatchObject({ converted: 1, orders: 1 });
      expect(result.arms.treatment.revenue.GBP?.sum).toBe(30);
      expect(result.repeatedOrders).toBe(1);
    }
    for (const events of [
      [first, second, tied],
      [tied, second, first],
      [second, tied, first],
    ])
      expect(tally(events).result.arms.treatment.revenue.GBP?.sum).toBe(60);
  });

  it('counts the first stored report of an order under two user ids alone, whichever is read first', () => {
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 10, minute)).toISOString();
    const links = [
      stored({ type: 'identify', anonymousId: 'a', userId: 'u1' }),
      stored({ type: 'identify', anonymousId: 'b', userId: 'u2', bucket: 'holdout' }),
    ];
    const u1 = order(undefined, 'o1', { revenue: 30, currency: 'GBP' }, { userId: 'u1', receivedAt: at(5) });
    const u2 = order(undefined, 'o1', { revenue: 45, currency: 'GBP' }, { userId: 'u2', receivedAt: at(2) });
    const u1Again = order(
      undefined,
      'o1',
      { revenue: 30, currency: 'GBP' },
      { userId: 'u1', receivedAt: at(1) },
    );
    for (const events of [
      [...links, u1, u2],
      [...links, u2, u1],
    ]) {
      const { result } = tally(events);
      expect(result.arms.holdout).toMatchObject({ converted: 1, orders: 1 });
      expect(result.arms.holdout.revenue.GBP?.sum).toBe(45);
      expect(result.arms.treatment).toMatchObject({ converted: 0, orders: 0 });
      expect(result.repeatedOrders).toBe(1);
    }
    // u1's earlier repeat is stored first of all: u1's, in any order.
    for (const events of [
      [...links, u1, u2, u1Again],
      [...links, u1Again, u2, u1],
      [...links, u2, u1, u1Again],
    ]) {
      const { result } = tally(events);
      expect(result.arms.treatment).toMatchObject({ converted: 1, orders: 1 });
      expect(result.arms.treatment.revenue.GBP?.sum).toBe(30);
      expect(result.arms.holdout).toMatchObject({ converted: 0, orders: 0 });
      expect(result.repeatedOrders).toBe(2);
    }
  });

  it('sorted by browser, gives a shared order to the first stored report noted before', () => {
    const received = (hour: number) => new Date(Date.UTC(2026, 10, 1, hour)).toISOString();
    const b1 = order('b1', 'o1', { revenue: 50, currency: 'GBP' }, { receivedAt: received(12) });
    const b2 = order(
      'b2',
      'o1',
      { revenue: 50, currency: 'GBP' },
      { bucket: 'holdout', receivedAt: received(11) },
    );
    const t = new ExperimentTally({ attributionMs: 7 * DAY }, new ReadReport());
    for (const event of [b1, b2]) t.noteOrder(event as unknown as Record<string, unknown>);
    t.browsersSortedFrom(new Map());
    t.add(b1 as unknown as Record<string, unknown>, 1);
    t.add(b2 as unknown as Record<string, unknown>, 2);
    const result = t.finish();
    expect(result.arms.treatment).toMatchObject({ shoppers: 1, orders: 0 });
    expect(result.arms.holdout).toMatchObject({ shoppers: 1, orders: 1 });
  });

  it('leaves out a browser whose events are in both arms', () => {
    const { result } = tally([
      stored({ type: 'page', anonymousId: 'a' }),
      stored({ type: 'page', anonymousId: 'a', bucket: 'holdout' }),
      stored({ type: 'page', anonymousId: 'b' }),
    ]);
    expect(result.inBothBuckets).toBe(1);
    expect(result.arms.treatment.shoppers).toBe(1);
    expect(result.arms.holdout.shoppers).toBe(0);
  });

  it('counts the orders of a browser in both arms, also one another browser reported later', () => {
    const events = [
      stored({ type: 'page', anonymousId: 'a' }),
      stored({ type: 'page', anonymousId: 'a', bucket: 'holdout' }),
      // Browser a reports the order first; b (treatment) later: b's report is a repeat of a's.
      order('a', 'o1', { revenue: 30, currency: 'GBP' }, { hour: 10 }),
      order('a', 'o2', { revenue: 5, currency: 'GBP' }, { bucket: 'holdout' }),
      order('b', 'o1', { revenue: 30, currency: 'GBP' }, { hour: 11 }),
    ];
    // Sorted by browser (MongoDB), the orders noted first: the same counts.
    const sorted = new ExperimentTally({ attributionMs: 7 * DAY }, new ReadReport());
    for (const event of events) sorted.noteOrder(event as unknown as Record<string, unknown>);
    sorted.browsersSortedFrom(new Map());
    events.forEach((event, i) => {
      sorted.add(event as unknown as Record<string, unknown>, i + 1);
    });
    expect(sorted.finish()).toMatchObject({ inBothBuckets: 1, repeatedOrders: 1, ordersInBothBuckets: 2 });
    const { result } = tally(events);
    expect(result.inBothBuckets).toBe(1);
    expect(result.arms.treatment).toMatchObject({ shoppers: 1, orders: 0 });
    expect(result.repeatedOrders).toBe(1);
    // Before, o1 and o2 were in no arm and in no count.
    expect(result.ordersInBothBuckets).toBe(2);
    expect(experimentReport(result).warnings.join('\n')).toContain(
      '1 browsers have events in both arms (HOLDOUT_PERCENT changed during the window?) and are left out, with the 2 orders they reported first',
    );
  });

  it('attributes an ordered product to a recommendation click in the window before the order', () => {
    const click = (anonymousId: string, product: string, day: number) =>
      stored({
        event: 'Recommendation Clicked',
        anonymousId,
        properties: { product_id: product, placement: 'home' },
        day,
      });
    const { result } = tally([
      stored({ event: 'Recommendation Shown', anonymousId: 'a', day: 1, properties: { placement: 'home' } }),
      stored({ event: 'Recommendation Shown', anonymousId: 'b', day: 1 }),
      // The proxy's page views: one of a page it filled (an impression), one of a page it did not.
      stored({
        type: 'page',
        name: 'home',
        anonymousId: 'c',
        properties: { path: '/', recommendation_id: 'r9' },
      }),
      stored({ type: 'page', anonymousId: 'c', properties: { path: '/about' } }),
      click('a', 'P1', 1),
      click('b', 'P1', 1),
      click('c', 'P2', 20),
      // a: P1 clicked 2 days before: its line (2 × 3.5) is the recommendation's; P9 is not.
      order(
        'a',
        'o1',
        {
          revenue: 15,
          products: [
            { product_id: 'P1', price: 3.5, quantity: 2 },
            { product_id: 'P9', price: 8 },
          ],
        },
        { day: 3 },
      ),
      // b: clicked 10 days before, outside the 7-day window.
      order('b', 'o2', { products: [{ product_id: 'P1', price: 3 }] }, { day: 11 }),
      // c: bought before the click.
      order('c', 'o3', { products: [{ product_id: 'P2', price: 3 }] }, { day: 19 }),
    ]);
    const arm = result.arms.treatment;
    expect(arm.recommendationsShown).toBe(3);
    expect(arm.recommendationClicks).toBe(3);
    expect(arm.placements).toEqual({
      home: {
        impressions: 2,
        clicks: 3,
        attributedOrders: 1,
        attributedOrdersByCurrency: { '???': 1 },
        attributedRevenue: { '???': 7 },
      },
      '(none)': {
        impressions: 1,
        clicks: 0,
        attributedOrders: 0,
        attributedOrdersByCurrency: {},
        attributedRevenue: {},
      },
    });
    expect(arm.attributedOrders).toBe(1);
    expect(arm.attributedRevenue).toEqual({ '???': 7 });
  });

  it("gives each attributed line to the placement of its product's last click in the window", () => {
    const click = (product: string, placement: string, day: number) =>
      stored({
        event: 'Recommendation Clicked',
        anonymousId: 'a',
        properties: { product_id: product, placement },
        day,
      });
    const { result } = tally([
      click('P1', 'home', 1),
      click('P1', 'product', 2), // P1's last click: product
      click('P2', 'cart', 2),
      click('P3', 'category', 9), // after the order: not its
      order(
        'a',
        'o1',
        {
          currency: 'GBP',
          products: [
            { product_id: 'P1', price: 4 },
            { product_id: 'P2', price: 2, quantity: 3 },
            { product_id: 'P3', price: 100 },
          ],
        },
        { day: 3 },
      ),
      order('a', 'o2', { currency: 'GBP', products: [{ product_id: 'P2', price: 1 }] }, { day: 4 }),
    ]);
    const arm = result.arms.treatment;
    expect(arm.attributedOrders).toBe(2);
    expect(arm.attributedRevenue).toEqual({ GBP: 11 });
    const earned = (placement: string) => {
      const totals = arm.placements[placement];
      return totals && { orders: totals.attributedOrders, revenue: totals.attributedRevenue };
    };
    expect(earned('product')).toEqual({ orders: 1, revenue: { GBP: 4 } });
    expect(earned('cart')).toEqual({ orders: 2, revenue: { GBP: 7 } });
    expect(earned('home')).toEqual({ orders: 0, revenue: {} });
    expect(earned('category')).toEqual({ orders: 0, revenue: {} });
  });

  it('gives a line clicked in two placements at the same moment to the same placement in any read order', () => {
    // Timestamps to the second (as some senders write them): two clicks of P1 share one. The later
    // stored one counts as the last, whichever line a file (or MongoDB's sort, tied on time) gives first.
    const click = (placement: string, received: string, messageId: string) => ({
      ...stored({
        event: 'Recommendation Clicked',
        anonymousId: 'a',
        properties: { product_id: 'P1', placement },
      }),
      receivedAt: received,
      messageId,
    });
    const events = [
      click('home', '2026-11-01T10:00:01.000Z', 'c1'),
      click('product', '2026-11-01T10:00:02.000Z', 'c2'),
      order('a', 'o1', { currency: 'GBP', products: [{ product_id: 'P1', price: 4 }] }, { day: 2 }),
    ];
    for (const read of [events, [...events].reverse()]) {
      const { placements } = tally(read).result.arms.treatment;
      expect(placements.product).toMatchObject({ attributedOrders: 1, attributedRevenue: { GBP: 4 } });
      expect(placements.home).toMatchObject({ attributedOrders: 0, attributedRevenue: {} });
    }
  });

  it("counts each placement's attributed orders per currency, as the table shows them under each", () => {
    const click = (anonymousId: string, product: string) =>
      stored({
        event: 'Recommendation Clicked',
        anonymousId,
        properties: { product_id: product, placement: 'home' },
      });
    const { result } = tally([
      click('a', 'P1'),
      click('b', 'P2'),
      order('a', 'o1', { currency: 'GBP', products: [{ product_id: 'P1', price: 4 }] }, { day: 2 }),
      order('b', 'o2', { currency: 'EUR', products: [{ product_id: 'P2', price: 6 }] }, { day: 2 }),
    ]);
    expect(result.arms.treatment.placements.home).toMatchObject({
      attributedOrders: 2,
      attributedOrdersByCurrency: { GBP: 1, EUR: 1 },
      attributedRevenue: { GBP: 4, EUR: 6 },
    });
    // One GBP order worth 4.00 from home, not "2, 4.00" (the EUR order counted under GBP's value).
    const text = formatReport(experimentReport(result));
    const lines = text.split('\n').filter((line) => line.includes('from home: orders, value'));
    expect(lines).toEqual([
      '|     from home: orders, value | 1, 6.00 | - |  |  |  |',
      '|     from home: orders, value | 1, 4.00 | - |  |  |  |',
    ]);
  });

  it('does not credit a click whose product the order lists with quantity 0 (not bought, as the trainer and worker read it)', () => {
    const { result } = tally([
      stored({
        event: 'Recommendation Clicked',
        anonymousId: 'a',
        properties: { product_id: 'P1', placement: 'home' },
        day: 1,
      }),
      order(
        'a',
        'o1',
        {
          currency: 'GBP',
          products: [
            { product_id: 'P1', price: 4, quantity: 0 },
            { product_id: 'P2', price: 2 },
          ],
        },
        { day: 2 },
      ),
    ]);
    const arm = result.arms.treatment;
    expect(arm.orders).toBe(1);
    expect(arm.attributedOrders).toBe(0);
    expect(arm.placements.home).toMatchObject({ clicks: 1, attributedOrders: 0 });
  });

  it('counts a placement named like a built-in property as any other', () => {
    const shown = (placement: string) =>
      stored({ event: 'Recommendation Shown', anonymousId: 'a', properties: { placement } });
    const { result } = tally([shown('__proto__'), shown('__proto__'), shown('constructor')]);
    const none = { attributedOrders: 0, attributedOrdersByCurrency: {}, attributedRevenue: {} };
    expect(Object.entries(result.arms.treatment.placements)).toEqual([
      ['__proto__', { impressions: 2, clicks: 0, ...none }],
      ['constructor', { impressions: 1, clicks: 0, ...none }],
    ]);
    expect(({} as Record<string, unknown>).impressions).toBeUndefined();
  });

  it('values an order by revenue, else total, else its lines, and counts unpriced ones', () => {
    const { result } = tally([
      order('a', 'o1', { revenue: 10, total: 12, currency: 'GBP' }),
      order('a', 'o2', { total: 12, currency: 'GBP' }),
      order('a', 'o3', { products: [{ product_id: 'P', price: 2, quantity: 3, currency: 'GBP' }] }),
      order('a', 'o4', { products: [{ product_id: 'P' }], currency: 'GBP' }),
    ]);
    expect(result.arms.treatment.revenue.GBP?.sum).toBe(28);
    expect(result.arms.treatment.unpricedOrders).toBe(1);
    expect(experimentReport(result).warnings.join('\n')).toContain('1 orders have no revenue');
  });

  it('counts events of the window and site only, and refuses to mix sites unless one is chosen', () => {
    const events = [
      stored({ type: 'page', anonymousId: 'a', day: 1 }),
      stored({ type: 'page', anonymousId: 'b', day: 5 }),
      stored({ type: 'page', anonymousId: 'c', day: 5, site: 'other' }),
    ];
    expect(() => tally(events)).toThrow(InputError);
    // Another site's events outside the window do not count.
    expect(tally(events, { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 2) }).result.site).toBe(
      'shop',
    );
    expect(() => tally(events)).toThrow(/2 sites \(other, shop\).*--site/);
    const { result, report } = tally(events, {
      site: 'shop',
      from: Date.UTC(2026, 10, 2),
      to: Date.UTC(2026, 10, 6),
    });
    expect(result.arms.treatment.shoppers).toBe(1);
    expect(report.rows).toEqual({ read: 3, kept: 1 });
    expect(report.skipped().map((s) => s.reason)).toEqual(['outside --from/--to', 'another site']);
  });

  it('skips events as posted (no bucket) and invalid ones, naming why', () => {
    const posted: Record<string, unknown> = { ...stored({ type: 'page', anonymousId: 'a' }) };
    delete posted.bucket;
    const report = new ReadReport();
    const t = new ExperimentTally({ attributionMs: DAY }, report);
    t.add(posted, 1);
    t.add({ ...stored({ type: 'page', anonymousId: 'a' }), bucket: 'control' }, 2);
    t.add({ ...stored({ type: 'page', anonymousId: 'a' }) }, 3);
    expect(report.rows).toEqual({ read: 3, kept: 1 });
    expect(report.skipped().map((s) => [s.reason, s.firstLines])).toEqual([
      ['no bucket: an event as posted, not as stored (read the events collection or its export)', [1]],
      [expect.stringMatching(/^invalid event: bucket /), [2]],
    ]);
  });
});

describe('refunds', () => {
  const refund = (
    anonymousId: string | undefined,
    orderId: string | undefined,
    properties: StoredEvent['properties'] = {},
    extra: Partial<StoredEvent> & { day?: number; hour?: number } = {},
  ) =>
    stored({
      event: 'Order Refunded',
      ...(anonymousId ? { anonymousId } : {}),
      properties: { ...(orderId === undefined ? {} : { order_id: orderId }), ...properties },
      ...extra,
    });

  it("takes an Order Refunded off the revenue of the order's shopper and arm, whoever reports it", () => {
    const events = [
      stored({ type: 'identify', anonymousId: 'h', userId: 'u1', bucket: 'holdout' }),
      order('h', 'o1', { revenue: 30, currency: 'GBP' }, { bucket: 'holdout' }),
      order('h', 'o2', { revenue: 12, currency: 'GBP' }, { bucket: 'holdout' }),
      order('t', 'o3', { revenue: 50, currency: 'GBP' }),
      // The shop's server refunds part of o1 under the user id alone, in the bucket drawn from it.
      refund(undefined, 'o1', { total: 10, currency: 'GBP' }, { userId: 'u1', bucket: 'treatment', day: 3 }),
      // Another browser (the shopper's phone, in treatment) reports a refund of o2.
      refund('t2', 'o2', { revenue: 2, currency: 'GBP' }, { day: 4 }),
    ];
    const { result } = tally(events);
    const { treatment, holdout } = result.arms;
    // Still orders and a buyer: the shopper bought; the revenue is what they kept.
    expect(holdout).toMatchObject({
      shoppers: 1,
      converted: 1,
      orders: 2,
      refunds: 2,
      refunded: { GBP: 12 },
    });
    expect(holdout.revenue.GBP).toEqual({ n: 1, sum: 30, sumOfSquares: 900 });
    expect(result.spending.holdout.GBP).toEqual([30]);
    expect(treatment).toMatchObject({ shoppers: 2, converted: 1, orders: 1, refunds: 0 });
    expect(treatment.revenue.GBP?.sum).toBe(50);
    expect(result.refunds).toEqual({ netted: 2, ofUnknownOrders: 0, notNetted: 0, inNoArm: 0, repeated: 0 });
    const report = experimentReport(result);
    expect(formatReport(report)).toContain('| refunds (taken off revenue) | 0 | 2 |');
    expect(formatReport(report)).toContain('|   refunded, GBP | 0.00 | 12.00 |');
    // Net of refunds: 30 over 2 orders.
    expect(formatReport(report)).toContain('| average order value, GBP | 50.00 | 15.00 |');
    expect(tally([...events].reverse()).result.arms).toEqual(result.arms);
  });

  it("a full refund without an amount takes off the order's own value; refunds of an order at most its value", () => {
    const { result } = tally([
      order('a', 'o1', { revenue: 40, currency: 'EUR' }),
      refund('a', 'o1', {}, { day: 2 }),
      order('b', 'o2', { revenue: 30, currency: 'EUR' }),
      // A partial refund, then the rest as a full refund: 30 in all, not 40.
      refund('b', 'o2', { total: 10, currency: 'EUR' }, { day: 2 }),
      refund('b', 'o2', {}, { day: 3 }),
      // A refund's total with tax and shipping, against the order's revenue without them: 25, not 27.
      order('c', 'o3', { revenue: 25, total: 27, currency: 'EUR' }),
      refund('c', 'o3', { total: 27, currency: 'EUR' }, { day: 2 }),
      stored({ type: 'page', anonymousId: 'd' }),
    ]);
    const arm = result.arms.treatment;
    expect(arm).toMatchObject({ shoppers: 4, converted: 3, orders: 3, buyersByCurrency: { EUR: 3 } });
    expect(arm.revenue.EUR).toEqual({ n: 4, sum: 0, sumOfSquares: 0 });
    expect(arm.refunded).toEqual({ EUR: 95 });
    // Nobody's net spending differs from 0: no value for the permutation test.
    expect(result.spending.treatment.EUR).toBeUndefined();
  });

  it('counts a refund reported twice (browser and server, or the same event again) once', () => {
    const events = [
      stored({ type: 'identify', anonymousId: 'a', userId: 'u1' }),
      order('a', 'o1', { revenue: 20, currency: 'GBP' }),
      refund('a', 'o1', { total: 5, currency: 'GBP' }, { day: 2 }),
      refund(undefined, 'o1', { total: 5, currency: 'GBP' }, { userId: 'u1', day: 2, hour: 11 }),
      // Two different partial refunds of the same order both count.
      refund('a', 'o1', { total: 3, currency: 'GBP' }, { day: 4 }),
    ];
    const copy = events[2] as StoredEvent;
    const { result } = tally([...events, copy]);
    expect(result.arms.treatment.revenue.GBP?.sum).toBe(12);
    expect(result.arms.treatment.refunds).toBe(2);
    expect(result.refunds).toMatchObject({ netted: 2, repeated: 2 });
  });

  it('an Order Completed worth less than 0 is a refund, not an order; of an unknown order, its own shopper pays', () => {
    const events = [
      order('a', '536365', { revenue: 15.3, currency: 'GBP' }),
      // The UCI Online Retail way: a cancelled invoice, C + a number of its own, negative.
      order('a', 'C536379', { revenue: -27.5, currency: 'GBP' }, { day: 2 }),
      order('b', 'C536383', { total: -4.65, currency: 'GBP' }, { bucket: 'holdout' }),
      // A shop that re-sends the order with a negative amount when it is cancelled.
      order('c', 'o9', { revenue: 8, currency: 'GBP' }, { bucket: 'holdout' }),
      order('c', 'o9', { revenue: -8, currency: 'GBP' }, { bucket: 'holdout', day: 2 }),
    ];
    const { result } = tally(events);
    const { treatment, holdout } = result.arms;
    expect(treatment).toMatchObject({ shoppers: 1, converted: 1, orders: 1, refunds: 1 });
    expect(treatment.revenue.GBP?.sum).toBeCloseTo(-12.2, 10);
    // b only cancelled: no order, no conversion, and what was refunded taken off.
    expect(holdout).toMatchObject({ shoppers: 2, converted: 1, orders: 1, refunds: 2 });
    expect(holdout.buyersByCurrency).toEqual({ GBP: 1 });
    expect(holdout.revenue.GBP?.sum).toBeCloseTo(-4.65, 10);
    expect(result.spending.holdout.GBP).toEqual([-4.65]);
    expect(result.repeatedOrders).toBe(0);
    expect(result.refunds).toMatchObject({ netted: 3, ofUnknownOrders: 2 });
    expect(experimentReport(result).warnings.join('\n')).toContain(
      "2 refunds name no order among the window's events (one placed before it, or a cancellation under an order_id of its own): taken off the revenue of the shopper who reported them",
    );
  });

  it("a refund of an order before the window: its own shopper's (a user id alone: its one browser's); without an amount, counted", () => {
    const window = { from: Date.UTC(2026, 10, 5) };
    const { result, report } = tally(
      [
        order('a', 'o1', { revenue: 20, currency: 'GBP' }, { day: 1 }),
        stored({ type: 'page', anonymousId: 'a', day: 6 }),
        refund('a', 'o1', { total: 20, currency: 'GBP' }, { day: 6 }),
        stored({ type: 'identify', anonymousId: 'h', userId: 'u1', bucket: 'holdout', day: 6 }),
        refund(undefined, 'o2', { total: 7, currency: 'GBP' }, { userId: 'u1', day: 6 }),
        refund('a', 'o3', {}, { day: 7 }),
        // A user id seen with no browser: in no arm.
        refund(undefined, 'o4', { total: 1, currency: 'GBP' }, { userId: 'u9', day: 7 }),
      ],
      window,
    );
    expect(report.skipped().map((s) => s.reason)).toEqual(['outside --from/--to']);
    expect(result.arms.treatment).toMatchObject({ shoppers: 1, converted: 0, refunds: 1 });
    expect(result.arms.treatment.revenue.GBP?.sum).toBe(-20);
    expect(result.arms.holdout.revenue.GBP?.sum).toBe(-7);
    expect(result.refunds).toEqual({ netted: 2, ofUnknownOrders: 2, notNetted: 1, inNoArm: 1, repeated: 0 });
    const warnings = experimentReport(result).warnings.join('\n');
    expect(warnings).toContain(
      "1 refunds give no amount, and their order is not among the window's events or gave no value: not taken off any revenue",
    );
    expect(warnings).toContain('1 refunds are of orders in no arm');
  });

  it('sorted by browser (MongoDB): a refund read before its order is summed up, or after, counts the same', () => {
    const events = [
      order('z', 'o1', { revenue: 20, currency: 'GBP' }, { bucket: 'holdout' }),
      // A browser sorted before the order's reports the full refund; the server the same refund again.
      refund('a', 'o1', {}, { day: 2 }),
      refund(undefined, 'o1', { total: 20, currency: 'GBP' }, { userId: 'u1', day: 2 }),
      order('m', 'C1', { revenue: -5, currency: 'GBP' }),
    ];
    const sorted = new ExperimentTally({ attributionMs: 7 * DAY }, new ReadReport());
    // As readExperiment reads MongoDB: user-only events, the browsers' orders and refunds, then by browser.
    const userOnly = events.filter((event) => event.anonymousId === undefined);
    const browsers = events.filter((event) => event.anonymousId !== undefined);
    userOnly.forEach((event, i) => {
      sorted.add(event as unknown as Record<string, unknown>, i + 1);
    });
    for (const event of browsers) sorted.noteOrder(event as unknown as Record<string, unknown>);
    sorted.browsersSortedFrom(new Map());
    [...browsers]
      .sort((a, b) => (a.anonymousId ?? '').localeCompare(b.anonymousId ?? ''))
      .forEach((event, i) => {
        sorted.add(event as unknown as Record<string, unknown>, i + 10);
      });
    const result = sorted.finish();
    expect(result.arms.holdout).toMatchObject({ shoppers: 1, converted: 1, orders: 1, refunds: 1 });
    expect(result.arms.holdout.revenue.GBP?.sum).toBe(0);
    expect(result.arms.treatment).toMatchObject({ shoppers: 2, converted: 0, refunds: 1 });
    expect(result.arms.treatment.revenue.GBP?.sum).toBe(-5);
    expect(result.refunds).toMatchObject({ netted: 2, repeated: 1 });
    expect(tally(events).result.arms).toEqual(result.arms);
  });

  it('leaves out a refund worth an absurd amount, as an order', () => {
    const { result, report } = tally([
      order('a', 'o1', { revenue: 20, currency: 'GBP' }),
      refund('a', 'o1', { total: 1e200, currency: 'GBP' }),
    ]);
    expect(result.arms.treatment.revenue.GBP?.sum).toBe(20);
    expect(report.skipped().map((s) => s.reason)).toEqual([
      expect.stringMatching(/^a refund worth more than 1e\+12 .*left out$/),
    ]);
  });

  it('compares arms whose shoppers net below 0 without breaking the statistics', () => {
    const events: StoredEvent[] = [];
    for (const bucket of ['treatment', 'holdout'] as const)
      for (let i = 0; i < 300; i++) {
        const id = `${bucket}-${i}`;
        events.push(stored({ type: 'page', anonymousId: id, bucket }));
        if (i < 40) events.push(order(id, `o-${id}`, { revenue: 10 + i, currency: 'GBP' }, { bucket }));
        // Refunds of orders before the window: the holdout's outweigh its orders.
        if (i >= 100 && i < (bucket === 'holdout' ? 160 : 110))
          events.push(refund(id, `old-${id}`, { total: 25, currency: 'GBP' }, { bucket }));
      }
    const { result } = tally(events);
    expect(result.arms.holdout.revenue.GBP?.sum).toBe(40 * 10 + (39 * 40) / 2 - 60 * 25);
    expect(Math.min(...(result.spending.holdout.GBP ?? []))).toBe(-25);
    const report = experimentReport(result, 50);
    const revenue = report.revenuePerShopper.GBP;
    expect(revenue?.holdout).toBeLessThan(0);
    for (const value of [
      revenue?.differenceInterval?.low,
      revenue?.differenceInterval?.high,
      revenue?.pValue,
    ])
      expect(Number.isFinite(value)).toBe(true);
    // A lift over a holdout below 0 means nothing: none shown.
    expect(revenue?.lift).toBeNull();
    expect(revenue?.pValue).toBeLessThan(0.05);
    expect(revenue?.differenceInterval?.low).toBeGreaterThan(0);
    const text = formatReport(report, 50);
    expect(text).not.toContain('NaN');
    expect(text).toMatch(/\| revenue per shopper, GBP \| 3\.10 \| -1\.07 \| \+4\.17 \(/);
    // The refunds of orders outside the window are no order's: the average order is the orders' own.
    expect(text).toContain('| average order value, GBP | 29.50 | 29.50 |');
  });
});

describe('experimentReport', () => {
  it('compares the arms, checks the split and warns while conversions are few', () => {
    const events: StoredEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const bucket = i < 28 ? 'treatment' : 'holdout';
      events.push(stored({ type: 'page', anonymousId: `s${i}`, bucket }));
      if (i % 5 === 0) events.push(order(`s${i}`, `o${i}`, { revenue: 10, currency: 'GBP' }, { bucket }));
    }
    const { result } = tally(events);
    const report = experimentReport(result, 10);
    expect(report.conversion?.treatment).toBeCloseTo(6 / 28, 10);
    expect(report.conversion?.holdout).toBeCloseTo(2 / 12, 10);
    expect(report.revenuePerShopper.GBP?.treatment).toBeCloseTo(60 / 28, 10);
    // 12 of 40 held out against 10 % configured: the split is off.
    expect(report.sampleRatio?.observedHoldoutShare).toBeCloseTo(0.3, 10);
    expect(report.sampleRatio?.pValue).toBeLessThan(0.001);
    expect(report.warnings.join('\n')).toMatch(
      /sample ratio mismatch: 30.0 % of shoppers are in the holdout, not 10 %/,
    );
    expect(report.warnings.join('\n')).toMatch(/fewer than 10 shoppers with an order/);
    expect(report.fewBuyersCurrencies).toEqual([]);
  });

  it('leaves out an order worth an absurd amount, and says so, so that no figure is NaN', () => {
    const events: StoredEvent[] = [];
    for (const bucket of ['treatment', 'holdout'] as const)
      for (let i = 0; i < 200; i++) {
        const id = `${bucket}-${i}`;
        events.push(stored({ type: 'page', anonymousId: id, bucket }));
        if (i < 40) events.push(order(id, `o-${id}`, { revenue: 20 + i, currency: 'GBP' }, { bucket }));
      }
    // One order's revenue, one product's price: valid numbers to the events' schema.
    events.push(order('treatment-150', 'huge', { revenue: 1e200, currency: 'GBP' }));
    events.push(
      order(
        'holdout-150',
        'priced',
        { currency: 'GBP', products: [{ product_id: 'p', price: 2e160 }] },
        { bucket: 'holdout' },
      ),
    );
    const { result, report: read } = tally(events);
    expect(result.arms.treatment).toMatchObject({ shoppers: 200, converted: 40, orders: 40 });
    expect(result.arms.holdout).toMatchObject({ shoppers: 200, converted: 40, orders: 40 });
    expect(read.skipped()).toEqual([
      expect.objectContaining({
        reason: expect.stringMatching(/^an order worth more than 1e\+12 .*left out$/),
        count: 2,
      }),
    ]);
    const report = experimentReport(result, 50);
    const revenue = report.revenuePerShopper.GBP;
    for (const value of [
      revenue?.differenceInterval?.low,
      revenue?.differenceInterval?.high,
      revenue?.pValue,
    ])
      expect(Number.isFinite(value)).toBe(true);
    expect(formatReport(report, 50)).not.toContain('NaN');
    // --json writes what JSON can hold: the same bounds, not null for NaN.
    expect(JSON.parse(JSON.stringify(report)).revenuePerShopper.GBP.differenceInterval).toEqual(
      revenue?.differenceInterval,
    );
  });

  it('says a currency paid by a handful of buyers gives no reliable comparison', () => {
    const events: StoredEvent[] = [];
    for (const bucket of ['treatment', 'holdout'] as const)
      for (let i = 0; i < 500; i++) {
        const id = `${bucket}-${i}`;
        events.push(stored({ type: 'page', anonymousId: id, bucket }));
        if (i < 50) events.push(order(id, `o-${id}`, { revenue: 20, currency: 'GBP' }, { bucket }));
        if (bucket === 'treatment' && i >= 100 && i < 105)
          events.push(order(id, `e-${id}`, { revenue: 100, currency: 'EUR' }, { bucket }));
      }
    const { result } = tally(events);
    expect(result.arms.treatment.buyersByCurrency).toEqual({ GBP: 50, EUR: 5 });
    const report = experimentReport(result, 50);
    // Five buyers against none: the permutation test's p is about 0.062 (twice C(500,5) ÷ C(1000,5)),
    // where Welch's test, used before, said p < 0.05. Either way, the row needs the warning.
    expect(report.revenuePerShopper.EUR?.pValue).toBeGreaterThan(0.05);
    expect(report.fewBuyersCurrencies).toEqual(['EUR']);
    const warnings = report.warnings.join('\n');
    expect(warnings).not.toMatch(/fewer than 10 shoppers with an order in an arm:/);
    expect(warnings).toContain(
      'fewer than 10 shoppers with an order in EUR in an arm (treatment 5, holdout 0): the revenue per shopper, EUR row',
    );
    expect(formatReport(report, 50)).toContain(
      '| revenue per shopper, EUR (few buyers: not reliable, see warnings) |',
    );
    expect(formatReport(report, 50)).toMatch(/\| revenue per shopper, GBP \| 2\.00 \|/);
  });

  it('does not call a split of a handful of shoppers a sample ratio mismatch', () => {
    const events = ['treatment', 'treatment', 'holdout', 'holdout', 'holdout'].map((bucket, i) =>
      stored({ type: 'page', anonymousId: `s${i}`, bucket: bucket as 'treatment' | 'holdout' }),
    );
    const report = experimentReport(tally(events).result, 10);
    // The exact binomial p; chi-square said 1.9e-4, an alarm.
    expect(report.sampleRatio?.pValue).toBeCloseTo(0.00856, 8);
    expect(report.warnings.join('\n')).not.toContain('sample ratio mismatch');
  });
});
