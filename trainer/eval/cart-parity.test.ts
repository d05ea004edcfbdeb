/**
 * The offline copies of the worker's exclusions (servedExclusions for eval, train's validation and
 * `recommend`; servedHistories for `eval --history served`) mask, for the same events, what the worker
 * masks: its purchases and the cart cartOfActivity reads from the activity list, where a `Product
 * Removed` takes the item out again and takes a place in the list.
 */
import { describe, expect, it } from 'vitest';
import { ACTIVITY_MAX } from '../../contracts/activity';
import { type EventRecord, eventInteractions } from '../data/event-interactions';
import { aggregate, forEachInRow, type InteractionMatrix, type SparseMatrix } from '../data/matrix';
import { type Interaction, type ItemStats, ReadReport } from '../data/types';
import { workerSignals } from '../test-support/worker-signals';
import { servedExclusions } from './exclusions';
import { servedHistories } from './served-history';

const START = Date.UTC(2024, 4, 1);
const CUTOFF = START + 86_400_000;

/** One event of signed-in shopper `user` at second `second` of the day. */
function event(user: string, second: number, name: string, ...products: string[]): EventRecord {
  const properties =
    name === 'Order Completed'
      ? { order_id: `${user}-${second}`, products: products.map((product_id) => ({ product_id })) }
      : { product_id: products[0] };
  return {
    type: 'track',
    event: name,
    userId: user,
    messageId: `${user}-${second}`,
    timestamp: new Date(START + second * 1000).toISOString(),
    properties,
  };
}

/** Each shopper's events, in order: `add`, `remove`, `view` one product; `order` several. */
function shopper(user: string, steps: Array<[string, ...string[]]>): EventRecord[] {
  const names: Record<string, string> = {
    add: 'Product Added',
    remove: 'Product Removed',
    view: 'Product Viewed',
    order: 'Order Completed',
  };
  return steps.map(([step, ...products], second) => event(user, second, names[step] ?? step, ...products));
}

const many = (count: number, step: string, prefix: string): Array<[string, string]> =>
  Array.from({ length: count }, (_, i) => [step, `${prefix}${i}`]);

const SHOPPERS: Record<string, Array<[string, ...string[]]>> = {
  'add A, add B, remove A': [
    ['add', 'A'],
    ['add', 'B'],
    ['remove', 'A'],
  ],
  'add A, remove A, add A again': [
    ['add', 'A'],
    ['remove', 'A'],
    ['add', 'A'],
  ],
  'add A, remove A, order C, add D': [
    ['add', 'A'],
    ['remove', 'A'],
    ['order', 'C'],
    ['add', 'D'],
  ],
  'add A, order C, remove A': [
    ['add', 'A'],
    ['order', 'C'],
    ['remove', 'A'],
  ],
  'remove B only, add A': [
    ['view', 'B'],
    ['remove', 'B'],
    ['add', 'A'],
  ],
  // The list holds the newest ACTIVITY_MAX entries: the removal of X is one of them, so the add of A
  // (the 101st) is out of the list, and out of the cart.
  'add A, views, remove X: A out of the list': [
    ['add', 'A'],
    ...many(ACTIVITY_MAX - 1, 'view', 'V'),
    ['remove', 'X'],
  ],
  'add A, more views than the list holds': [['add', 'A'], ...many(ACTIVITY_MAX, 'view', 'W')],
  'add A, views filling the list but one': [['add', 'A'], ...many(ACTIVITY_MAX - 1, 'view', 'Y')],
};

function read(events: readonly EventRecord[]): Interaction[] {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  return events.flatMap((raw, i) => [...eventInteractions(raw, i + 1, report, items)]);
}

function maskedOf(m: InteractionMatrix, masks: SparseMatrix, user: string): string[] {
  const out: string[] = [];
  forEachInRow(masks, m.users.indexOf(user), (c) => {
    out.push(m.items[c] ?? '?');
  });
  return out.sort();
}

describe("the offline exclusions follow the worker's cart (cartOfActivity) and purchases", () => {
  const events = Object.entries(SHOPPERS).flatMap(([user, steps]) => shopper(user, steps));
  const interactions = read(events);
  const m = aggregate(interactions);
  const exclusions = servedExclusions(m, interactions);
  const served = servedHistories(m, interactions, CUTOFF);

  it.each(Object.keys(SHOPPERS))('%s', (user) => {
    const worker = workerSignals(shopper(user, SHOPPERS[user] ?? []));
    const known = worker.masked.filter((item) => m.itemIndex.has(item));
    expect(maskedOf(m, exclusions, user)).toEqual(known);
    expect(maskedOf(m, served.masks, user)).toEqual(known);
  });

  it('masks what the worker masks in the cases it is written for', () => {
    const mask = (user: string) => workerSignals(shopper(user, SHOPPERS[user] ?? [])).masked;
    expect(mask('add A, add B, remove A')).toEqual(['B']);
    expect(mask('add A, remove A, add A again')).toEqual(['A']);
    expect(mask('add A, remove A, order C, add D')).toEqual(['C', 'D']);
    expect(mask('add A, order C, remove A')).toEqual(['C']);
    expect(mask('remove B only, add A')).toEqual(['A']);
    expect(mask('add A, views, remove X: A out of the list')).toEqual([]);
    expect(mask('add A, more views than the list holds')).toEqual([]);
    expect(mask('add A, views filling the list but one')).toEqual(['A']);
  });
});
