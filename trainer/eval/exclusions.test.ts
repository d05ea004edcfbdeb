import { describe, expect, it } from 'vitest';
import { aggregate, forEachInRow } from '../data/matrix';
import type { Interaction } from '../data/types';
import { servedExclusions } from './exclusions';

/** `weight` as the events reader gives it: 1 a view, 3 an add to cart; a purchase is a purchase. */
const did = (user: string, item: string, day: number, purchase: boolean, weight = 1): Interaction => ({
  user,
  item,
  time: Date.UTC(2011, 10, day),
  weight,
  purchase,
  quantity: purchase ? 1 : 0,
});

describe("eval's exclusions (what the worker never recommends from a shopper's own history)", () => {
  it('masks purchases and the cart since the last order, never what was only viewed', () => {
    const interactions = [
      did('u', 'carted-then-ordered-other', 1, false, 3), // in the cart before the order: emptied by it
      did('u', 'bought', 2, true),
      did('u', 'viewed', 3, false, 1),
      did('u', 'in-cart', 4, false, 3), // added after the order: still in the cart
      did('v', 'carted', 1, false, 3), // never ordered: the cart was never emptied
      did('v', 'viewed', 2, false, 1),
    ];
    const m = aggregate(interactions);
    const masks = servedExclusions(m, interactions);
    const masked = (user: string) => {
      const out: string[] = [];
      forEachInRow(masks, m.users.indexOf(user), (c) => {
        out.push(m.items[c] ?? '?');
      });
      return out.sort();
    };
    expect(masked('u')).toEqual(['bought', 'in-cart']);
    expect(masked('v')).toEqual(['carted']);
  });
});
