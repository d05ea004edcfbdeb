import { describe, expect, it } from 'vitest';
import type { Interaction } from '../data/types';
import { quantileCutoff, stratifiedSplit, temporalSplit } from './split';

const at = (user: string, item: string, day: number, purchase = true): Interaction => ({
  user,
  item,
  time: Date.UTC(2011, 0, 1 + day),
  weight: 1,
  purchase,
  quantity: 1,
});

describe('splits', () => {
  it('stratified: every user keeps round(75%) of their rows in training', () => {
    const rows = [
      ...Array.from({ length: 8 }, (_, i) => at('a', `i${i}`, i)),
      ...Array.from({ length: 3 }, (_, i) => at('b', `i${i}`, i)),
    ];
    const s = stratifiedSplit(rows, 0.75, 1);
    expect(s.train.filter((r) => r.user === 'a')).toHaveLength(6);
    expect(s.train.filter((r) => r.user === 'b')).toHaveLength(2);
    expect(s.test).toHaveLength(3);
    expect(stratifiedSplit(rows, 0.75, 1).test).toEqual(s.test); // seeded
  });

  it('temporal: tests known users on known items after the cut-off, counting what it leaves out', () => {
    const rows = [
      at('a', 'x', 1),
      at('a', 'y', 2),
      at('b', 'y', 3),
      at('a', 'z', 10),
      at('a', 'new', 11),
      at('c', 'x', 12),
      at('b', 'x', 13, false),
    ];
    const s = temporalSplit(rows, Date.UTC(2011, 0, 6));
    expect(s.train).toHaveLength(3);
    expect(s.test.map((r) => [r.user, r.item])).toEqual([]);
    expect(s.newUsers).toBe(1);
    expect(s.newItemRows).toBe(2);
    const s2 = temporalSplit([...rows, at('b', 'x', 14)], Date.UTC(2011, 0, 6));
    expect(s2.test.map((r) => [r.user, r.item])).toEqual([['b', 'x']]);
    expect(quantileCutoff(rows, 0.5)).toBe(Date.UTC(2011, 0, 11));
  });
});
