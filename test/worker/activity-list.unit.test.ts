import { describe, expect, it } from 'vitest';
import { mergeActivity, parseActivity } from '../../worker/src/cache/activity-list';
import { ACTIVITY_MAX, type ActivityEntry } from '../../worker/src/cache/keys';

const entry = (product_id: string, at: number, kind: ActivityEntry['kind'] = 'view'): ActivityEntry => ({
  product_id,
  kind,
  at,
});

describe('mergeActivity', () => {
  it('orders by the time of the event, not by list: a late retry on top of the list sinks to its place', () => {
    // The list as Redis holds it: a retried view from an hour ago was pushed last, so it is at the head.
    const own = [entry('RETRIED', 1_000), entry('NEWEST', 9_000), entry('OLDER', 5_000)];
    expect(mergeActivity(own, []).map((e) => e.product_id)).toEqual(['NEWEST', 'OLDER', 'RETRIED']);
  });

  it("interleaves a logged-in shopper's own list and their session's by time", () => {
    const own = [entry('U2', 200), entry('U1', 100)];
    const session = [entry('S2', 250), entry('S1', 150)];
    expect(mergeActivity(own, session).map((e) => e.product_id)).toEqual(['S2', 'U2', 'S1', 'U1']);
  });

  it('keeps each event once: redelivered entries and those written under both hashes', () => {
    const own = [entry('A', 3), entry('A', 3), entry('B', 2, 'cart'), entry('A', 1)];
    const session = [entry('B', 2, 'cart'), entry('A', 3)];
    expect(mergeActivity(own, session)).toEqual([entry('A', 3), entry('B', 2, 'cart'), entry('A', 1)]);
  });

  it(`keeps the ${ACTIVITY_MAX} newest`, () => {
    const own = Array.from({ length: ACTIVITY_MAX }, (_, i) => entry(`U${i}`, 1_000 - i));
    const session = Array.from({ length: ACTIVITY_MAX }, (_, i) => entry(`S${i}`, 2_000 - i));
    const merged = mergeActivity(own, session);
    expect(merged).toHaveLength(ACTIVITY_MAX);
    expect(merged.every((e) => e.product_id.startsWith('S'))).toBe(true);
  });
});

describe('parseActivity', () => {
  it('reads every kind the consumer writes, removals included, and skips what is not an entry', () => {
    const raw = [
      JSON.stringify(entry('A', 1, 'removed')),
      'not json',
      JSON.stringify({ product_id: 'B', kind: 'teleported', at: 2 }),
      JSON.stringify(entry('C', 3, 'purchase')),
      7,
    ];
    expect(parseActivity(raw)).toEqual([entry('A', 1, 'removed'), entry('C', 3, 'purchase')]);
  });

  it('reads an id as long as an event may carry (256 characters), and no longer', () => {
    const longest = entry(`SKU/${'x'.repeat(252)}`, 1);
    expect(
      parseActivity([JSON.stringify(longest), JSON.stringify(entry(`${longest.product_id}y`, 2))]),
    ).toEqual([longest]);
  });
});
