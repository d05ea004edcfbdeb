import { describe, expect, it } from 'vitest';
import type { Interaction } from '../data/types';
import { parseCutoff, quantileCutoff, stratifiedSplit, temporalSplit } from './split';

const at = (user: string, item: string, day: number, purchase = true): Interaction => ({
  user,
  item,
  time: Date.UTC(2011, 0, 1 + day),
  weight: 1,
  purchase,
  quantity: 1,
});

describe('splits', () => {
  it('stratified: reproduces python_stratified_split(ratio=0.75, seed=42) row for row', () => {
    // Users of 30 rows in file order. The expected training rows were computed with NumPy 2.4:
    //   np.random.seed(42); rnd = np.random.rand(30); order = np.lexsort((rnd, users))
    //   train = rows whose (rank within user) / (user's count) <= 0.75
    // i.e. Microsoft Recommenders' _do_stratification without pandas.
    const users = [1, 2, 1, 3, 2, 1, 4, 2, 1, 3, 5, 2, 1, 3, 2, 1, 6, 6, 2, 1, 3, 1, 2, 6, 1, 3, 2, 1, 6, 2];
    const rows = users.map((u, i) => at(`u${u}`, `i${i}`, i));
    const s = stratifiedSplit(rows, 0.75, 42);
    const trainRows = s.train.map((r) => rows.indexOf(r)).sort((a, b) => a - b);
    expect(trainRows).toEqual([0, 3, 4, 5, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 26, 27, 29]);
    // floor(0.75 n) per user: 10 → 7, 9 → 6, 5 → 3, 4 → 3, and a single row goes to test.
    expect(s.test).toHaveLength(11);
    expect(s.test.filter((r) => r.user === 'u4')).toHaveLength(1);
    expect(() => stratifiedSplit(rows, 1, 42)).toThrow(/ratio/);
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
    // The description names the day, or the moment when the cut-off is one within a day.
    expect(s.description).toMatch(/^temporal: train before 2011-01-06, test purchases from 2011-01-06 /);
    expect(temporalSplit(rows, Date.UTC(2011, 0, 6, 9, 30)).description).toMatch(
      /^temporal: train before 2011-01-06T09:30:00\.000Z, test purchases from 2011-01-06T09:30:00\.000Z /,
    );
  });

  it('--cutoff is a day or a moment with its zone; a day that does not exist or a bare number is refused', () => {
    expect(parseCutoff('2011-11-30')).toBe(Date.UTC(2011, 10, 30));
    expect(parseCutoff('2011-11-30T06:54Z')).toBe(Date.UTC(2011, 10, 30, 6, 54));
    expect(parseCutoff('2011-11-30T06:54:10+01:00')).toBe(Date.UTC(2011, 10, 30, 5, 54, 10));
    // Date.parse takes all of these: 2011-12-01, 2001-12-01, local midnight.
    for (const raw of ['2011-11-31', '12', '2011-13-01', '2011-11-30T06:54', 'Nov 30 2011']) {
      expect(() => parseCutoff(raw), raw).toThrow(/--cutoff must be a day \(YYYY-MM-DD\) or a moment/);
    }
  });

  it('temporal: an interaction at the cut-off itself is in the test window, not in training', () => {
    const cutoff = Date.UTC(2011, 0, 6);
    const rows = [at('a', 'x', 1), at('a', 'y', 2), { ...at('a', 'y', 5), time: cutoff }];
    const s = temporalSplit(rows, cutoff);
    expect(s.train.map((r) => r.item)).toEqual(['x', 'y']);
    expect(s.test.map((r) => [r.user, r.item, r.time])).toEqual([['a', 'y', cutoff]]);
  });

  it('a removal from the cart is no interaction: it neither moves the cut-off nor makes a customer or item known', () => {
    const removed = (user: string, item: string, day: number): Interaction => ({
      ...at(user, item, day, false),
      weight: 0,
      activity: 'removed',
    });
    const rows = [at('a', 'x', 1), at('a', 'y', 2), at('b', 'x', 3), at('c', 'x', 8), at('b', 'w', 9)];
    const all = [
      ...rows,
      at('b', 'y', 10),
      removed('c', 'w', 4),
      removed('a', 'w', 5),
      removed('a', 'x', 20),
    ];
    const signals = all.filter((r) => r.activity !== 'removed');
    expect(quantileCutoff(all, 0.5)).toBe(quantileCutoff(signals, 0.5));
    // c and w were only ever removed before the cut-off: as new to a model as if never seen.
    const s = temporalSplit(all, Date.UTC(2011, 0, 7));
    expect([s.newUsers, s.newItemRows]).toEqual([1, 1]);
    expect(s.test.map((r) => [r.user, r.item])).toEqual([['b', 'y']]);
    // Kept in training, for the cart the worker reads from the activity list (served-history.ts).
    expect(s.train.filter((r) => r.activity === 'removed')).toHaveLength(2);
  });

  it('the default cut-off is the UTC midnight of the day by which the share happened', () => {
    // Times within days: the 3rd of 4 (index floor(0.5 * 4) = 2) is 2011-01-03 17:45, so 2011-01-03.
    const within = (day: number, hour: number) => ({
      ...at('u', 'i', 0),
      time: Date.UTC(2011, 0, day, hour, 45),
    });
    expect(quantileCutoff([within(4, 9), within(1, 8), within(3, 17), within(2, 23)], 0.5)).toBe(
      Date.UTC(2011, 0, 3),
    );
  });
});
