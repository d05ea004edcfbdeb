import { describe, expect, it } from 'vitest';
import { ACTIVITY_MAX } from '../../contracts/activity';
import { validateEvent } from '../../contracts/events';
import { activityOf } from '../../worker/src/activity/activity-of-event';
import { type EventRecord, eventInteractions } from '../data/event-interactions';
import { aggregate, forEachInRow, type SparseMatrix } from '../data/matrix';
import { type Interaction, type ItemStats, ReadReport } from '../data/types';
import { activityLifetimes, servedHistories } from './served-history';

const DAY = 86_400_000;
const CUTOFF = Date.UTC(2011, 10, 21);

/** An interaction `daysAgo` days before the cut-off; `weight` as the events reader gives it. */
const did = (user: string, item: string, daysAgo: number, purchase = true, weight = 1): Interaction => ({
  user,
  item,
  time: CUTOFF - daysAgo * DAY,
  weight,
  purchase,
  quantity: purchase ? 1 : 0,
});

function row(m: SparseMatrix, r: number, items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  forEachInRow(m, r, (c, v) => {
    out[items[c] ?? '?'] = Number(v.toFixed(4));
  });
  return out;
}

describe('eval --history served', () => {
  it('weighs the newest activity most, by kind, and masks the purchases the worker still holds', () => {
    const train = [
      did('u', 'old', 20), // bought 20 days ago
      did('u', 'viewed', 2, false, 1), // a view: weight 0.5 at its place, never masked
      did('u', 'carted', 1, false, 3), // an add to cart: 0.8; before the newest order, so out of the cart
      did('u', 'new', 0.5), // the newest: a purchase, 1
    ];
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF);
    const r = m.users.indexOf('u');
    expect(row(served.histories, r, m.items)).toEqual({ new: 1, carted: 0.736, viewed: 0.4232, old: 0.7787 });
    expect(Object.keys(row(served.masks, r, m.items)).sort()).toEqual(['new', 'old']);
    expect(served.expired).toBe(0);
  });

  it('masks the cart as the worker reads it: what was added after the newest order', () => {
    const train = [
      did('u', 'carted-before', 6, false, 3), // in the cart before the order: emptied
      did('u', 'ordered', 5), // the order
      did('u', 'viewed', 3, false, 1), // a view: never masked
      did('u', 'in-cart', 2, false, 3), // added after the order: in the cart, masked
    ];
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF);
    expect(Object.keys(row(served.masks, m.users.indexOf('u'), m.items)).sort()).toEqual([
      'in-cart',
      'ordered',
    ]);
  });

  it('forgets everything after its lifetime without events, and what came before such a gap', () => {
    const train = [
      did('away', 'a', 45), // last seen 45 days before the cut-off: the keys expired
      did('gap', 'before', 80), // then 40 days without events: expired before the next one
      did('gap', 'after', 40),
      did('gap', 'latest', 10),
    ];
    const m = aggregate(train);
    // An anonymous shopper's lifetime (ACTIVITY_DAYS, 30); a signed-in one's is 365 by default.
    const served = servedHistories(m, train, CUTOFF, activityLifetimes(30));
    expect(row(served.histories, m.users.indexOf('away'), m.items)).toEqual({});
    expect(row(served.masks, m.users.indexOf('away'), m.items)).toEqual({});
    expect(Object.keys(row(served.histories, m.users.indexOf('gap'), m.items)).sort()).toEqual([
      'after',
      'latest',
    ]);
    expect(Object.keys(row(served.masks, m.users.indexOf('gap'), m.items)).sort()).toEqual([
      'after',
      'latest',
    ]);
    expect(served.expired).toBe(1);
  });

  it('forgets activity half a day past its lifetime, and keeps it half a day short of it', () => {
    const train = [did('expired', 'a', 30.5), did('kept', 'b', 29.5)];
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF, activityLifetimes(30));
    expect(row(served.histories, m.users.indexOf('expired'), m.items)).toEqual({});
    expect(row(served.histories, m.users.indexOf('kept'), m.items)).toEqual({ b: 1 });
    expect(served.expired).toBe(1);
  });

  it(`keeps the ${ACTIVITY_MAX} newest entries in the history, and every purchase in the mask`, () => {
    const train = Array.from({ length: ACTIVITY_MAX + 5 }, (_, i) => did('u', `i${i}`, i * 0.1));
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF);
    expect(Object.keys(row(served.histories, 0, m.items))).toHaveLength(ACTIVITY_MAX);
    expect(row(served.histories, 0, m.items)[`i${ACTIVITY_MAX}`]).toBeUndefined();
    expect(Object.keys(row(served.masks, 0, m.items))).toHaveLength(ACTIVITY_MAX + 5);
  });

  it(`keeps the last ${ACTIVITY_MAX} lines of a longer order, as the worker's list does`, () => {
    // One order, one time: the consumer LPUSHes its products in order, so the list's head is the
    // last line and LTRIM drops the first ones.
    const train = Array.from({ length: ACTIVITY_MAX + 5 }, (_, i) => did('u', `i${i}`, 1));
    const m = aggregate(train);
    const kept = Object.keys(row(servedHistories(m, train, CUTOFF).histories, 0, m.items));
    expect(kept).toHaveLength(ACTIVITY_MAX);
    expect(kept).toContain(`i${ACTIVITY_MAX + 4}`);
    expect(kept).not.toContain('i4');
  });

  it('counts a product twice in one order once, as the worker records an event', () => {
    const train = [did('u', 'a', 1), did('u', 'a', 1), did('u', 'b', 1)];
    const m = aggregate(train);
    expect(row(servedHistories(m, train, CUTOFF).histories, 0, m.items)).toEqual({ a: 1, b: 1 });
  });

  it("by default keeps a signed-in shopper's activity for a year", () => {
    const train = [did('back', 'a', 200), did('gone', 'b', 400)];
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF);
    expect(Object.keys(row(served.histories, m.users.indexOf('back'), m.items))).toEqual(['a']);
    expect(row(served.histories, m.users.indexOf('gone'), m.items)).toEqual({});
  });

  it("weighs an order's lines alike: one event is one step back", () => {
    const order = (item: string) => did('u', item, 1); // three lines of one order, one time
    const train = [did('u', 'earlier', 3), order('a'), order('b'), order('c'), did('u', 'latest', 0.5)];
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF);
    expect(row(served.histories, 0, m.items)).toEqual({
      latest: 1,
      a: 0.92,
      b: 0.92,
      c: 0.92,
      earlier: 0.8464,
    });
  });

  it("takes an event's entry from the consumer's mapping: a product click is a click, a checkout nothing", () => {
    const read = (item: string, daysAgo: number, weight: number, activity: Interaction['activity']) => ({
      ...did('u', item, daysAgo, false, weight),
      activity,
    });
    const train = [
      read('viewed', 40, 1, 'view'),
      // Weight 1 like a view, but the consumer records a click (0.6).
      read('clicked', 20, 1, 'click'),
      // Weight 3 like an add to cart, but the consumer records nothing, and renews no lifetime.
      read('checkout', 1, 3, null),
    ];
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF, activityLifetimes(30));
    // 'clicked' is the newest entry; 'viewed' is 20 days older, within the 30 days.
    expect(row(served.histories, 0, m.items)).toEqual({ clicked: 0.6, viewed: 0.46 });
    // A view 35 days back, a checkout 10 days back: the checkout does not keep the view's keys alive.
    const alone = [read('viewed', 35, 1, 'view'), read('checkout', 10, 3, null)];
    const m2 = aggregate(alone);
    expect(servedHistories(m2, alone, CUTOFF, activityLifetimes(30)).expired).toBe(1);
  });

  it("holds a Product Removed read from events as the worker's list does: a place and a step, no weight", () => {
    const event = (name: string, product: string, daysAgo: number): EventRecord => ({
      type: 'track',
      event: name,
      anonymousId: 'a1',
      timestamp: new Date(CUTOFF - daysAgo * DAY).toISOString(),
      properties: { product_id: product },
    });
    const read = (events: EventRecord[]) => {
      const report = new ReadReport();
      const items = new Map<string, ItemStats>();
      return events.flatMap((raw, i) => [...eventInteractions(raw, i + 1, report, items)]);
    };
    // A view 40 days back, an add 35 days back, its removal 20 days back (a 30-day lifetime).
    const events = [
      event('Product Viewed', 'viewed', 40),
      event('Product Added', 'jug', 35),
      event('Product Removed', 'jug', 20),
    ];
    const train = read(events);
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF, activityLifetimes(30));
    // The removal renews the keys (the consumer EXPIREs on it), so the add and the view are held, one
    // and two steps back: the removal is a step (historyVector weighs every entry in turn), of no
    // weight. Before (the removal not read), all had expired 35 days back.
    expect(row(served.histories, 0, m.items)).toEqual({ jug: 0.736, viewed: 0.4232 });
    expect(row(served.masks, 0, m.items)).toEqual({});
    // A removal takes a place: ACTIVITY_MAX − 1 later views and it push the view out of the list.
    const views = Array.from({ length: ACTIVITY_MAX - 1 }, (_, i) =>
      event('Product Viewed', `v${i}`, 10 - i / 100),
    );
    const full = read([...events, ...views]);
    const m2 = aggregate(full);
    const held = row(servedHistories(m2, full, CUTOFF, activityLifetimes(30)).histories, 0, m2.items);
    expect(Object.keys(held)).toHaveLength(ACTIVITY_MAX - 1);
    expect(held.viewed).toBeUndefined();
  });

  it("holds what the worker's consumer records of the same events: an order line of quantity 0 is nothing", () => {
    const at = (minute: number) => new Date(CUTOFF - DAY + minute * 60_000).toISOString();
    const order = (minute: number, products: Array<Record<string, unknown>>): EventRecord => ({
      type: 'track',
      event: 'Order Completed',
      userId: 'u',
      messageId: `m${minute}`,
      timestamp: at(minute),
      properties: { order_id: `o${minute}`, products },
    });
    const events: EventRecord[] = [
      { ...order(0, []), event: 'Product Viewed', properties: { product_id: 'P0' } },
      order(1, [{ product_id: 'P1', quantity: 1 }, { product_id: 'P2', quantity: 0 }, { product_id: 'P3' }]),
      order(2, [{ product_id: 'P4', quantity: 0 }]),
    ];
    const report = new ReadReport();
    const items = new Map<string, ItemStats>();
    const train = events.flatMap((event, i) => [...eventInteractions(event, i + 1, report, items)]);
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF);
    // The consumer's entries and purchases of the same events (worker/src/activity/activity-of-event.ts).
    const worker = events.map((event) => {
      const checked = validateEvent(event);
      if (!checked.ok) throw new Error('invalid fixture event');
      return activityOf({
        ...checked.event,
        messageId: String(event.messageId),
        timestamp: String(event.timestamp),
        receivedAt: String(event.timestamp),
        site: 'shop',
        bucket: 'treatment',
        model_version: null,
      });
    });
    const entries = worker.flatMap((activity) => activity.entries.map((entry) => entry.product_id));
    const purchased = worker.flatMap((activity) => activity.purchased);
    expect(Object.keys(row(served.histories, 0, m.items)).sort()).toEqual(entries.sort());
    expect(Object.keys(row(served.masks, 0, m.items)).sort()).toEqual(purchased.sort());
    // Before (worker): P2 and P4 bought, hidden from the shopper for good.
    expect(purchased.sort()).toEqual(['P1', 'P3']);
  });

  it("keeps the activity of a shopper who never signed in ACTIVITY_DAYS (30), a signed-in one's a year", () => {
    const train = [
      { ...did('browser', 'a', 40, false), anonymous: true as const },
      { ...did('browser', 'b', 35, false), anonymous: true as const },
      did('customer', 'c', 40, false),
    ];
    const m = aggregate(train);
    const served = servedHistories(m, train, CUTOFF);
    expect(row(served.histories, m.users.indexOf('browser'), m.items)).toEqual({});
    expect(Object.keys(row(served.histories, m.users.indexOf('customer'), m.items))).toEqual(['c']);
    expect(served.expired).toBe(1);
    // --activity-days gives every shopper the same lifetime.
    expect(servedHistories(m, train, CUTOFF, activityLifetimes(50)).expired).toBe(0);
  });
});
