import { describe, expect, it } from 'vitest';
import type { ActivityEntry } from '../../worker/src/cache/keys';
import { historyVector } from '../../worker/src/recommend/history';

const byId = new Map(['latest', 'a', 'b', 'c', 'earlier', 'gone'].map((id, index) => [id, index]));
const entry = (product_id: string, kind: ActivityEntry['kind'], at: number): ActivityEntry => ({
  product_id,
  kind,
  at,
});

describe('historyVector', () => {
  it("decays by event, newest first: an order's lines share their event's weight", () => {
    const { vector, known } = historyVector(byId, byId.size, [
      entry('latest', 'view', 500),
      // One order of three lines: one event, one time.
      entry('a', 'purchase', 400),
      entry('b', 'purchase', 400),
      entry('c', 'purchase', 400),
      entry('gone', 'removed', 300), // a step back in time, though it weighs nothing
      entry('earlier', 'cart', 200), // three events back: 0.8 × 0.92³
    ]);
    expect([...vector].map((value) => Number(value.toFixed(4)))).toEqual([0.5, 0.92, 0.92, 0.92, 0.623, 0]);
    expect(known).toBe(5);
  });

  it('adds the context items at their own weight, and ignores ids outside the catalogue', () => {
    const { vector, known } = historyVector(byId, byId.size, [entry('unknown', 'view', 2)], ['a'], 2);
    expect(vector[1]).toBe(2);
    expect(known).toBe(1);
  });
});
