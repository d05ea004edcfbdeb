import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { recency } from './run-eval';

const day = 86_400_000;
const bought = (user: string, item: string, daysAgo: number): Interaction => ({
  user,
  item,
  time: Date.UTC(2011, 11, 1) - daysAgo * day,
  weight: 1,
  purchase: true,
  quantity: 1,
});

describe('eval --half-life', () => {
  it('ages each training interaction from the newest one: one half-life old counts half', () => {
    const train = [bought('u', 'old', 30), bought('u', 'new', 0), bought('v', 'older', 60)];
    const m = aggregate(train, recency(30, train));
    const value = (user: string, item: string) => {
      const r = m.users.indexOf(user);
      const c = m.itemIndex.get(item) ?? -1;
      for (let p = m.matrix.rowPtr[r] ?? 0; p < (m.matrix.rowPtr[r + 1] ?? 0); p++)
        if (m.matrix.colIdx[p] === c) return m.matrix.values[p];
      return undefined;
    };
    expect(value('u', 'new')).toBeCloseTo(1, 6);
    expect(value('u', 'old')).toBeCloseTo(0.5, 6);
    expect(value('v', 'older')).toBeCloseTo(0.25, 6);
  });

  it('ages from the newest interaction, not from a later removal from the cart (no signal)', () => {
    const train = [bought('u', 'new', 30)];
    const removal: Interaction = {
      ...bought('u', 'new', 0),
      weight: 0,
      purchase: false,
      activity: 'removed',
    };
    expect(recency(30, [...train, removal])).toEqual(recency(30, train));
  });

  it('without a half-life nothing fades', () => {
    const train = [bought('u', 'old', 300), bought('u', 'new', 0)];
    expect(recency(undefined, train)).toEqual({});
    expect([...aggregate(train, recency(undefined, train)).matrix.values]).toEqual([1, 1]);
  });
});
