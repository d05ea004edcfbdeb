import { describe, expect, it } from 'vitest';
import type { Interaction } from '../data/types';
import { weekIndex, weeklySeries, weekStart } from './weekly';

/** 2024-01-01 was a Monday: `day` 0 is the first day of week `weekIndex(MONDAY)`. */
const MONDAY = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;

function sale(item: string, day: number, quantity: number, store?: string): Interaction {
  return { user: 'u', item, time: MONDAY + day * DAY, weight: 4, purchase: true, quantity, store };
}

describe('weeklySeries', () => {
  it('weeks start on Monday (UTC)', () => {
    const first = weekIndex(MONDAY);
    expect(weekStart(first)).toBe('2024-01-01');
    expect(weekIndex(MONDAY + 6 * DAY + DAY - 1)).toBe(first); // Sunday 23:59:59.999
    expect(weekIndex(MONDAY + 7 * DAY)).toBe(first + 1);
    expect(weekIndex(MONDAY - 1)).toBe(first - 1);
  });

  it('sums each week per item and store, and fills weeks without sales with zero up to the last week', async () => {
    const { series, lastWeek } = await weeklySeries([
      sale('A', 0, 3), // week 0
      sale('A', 6, 2), // week 0 (Sunday)
      sale('A', 15, 4), // week 2; week 1 had no sale
      sale('A', 16, 1, 'FR'), // another store: its own series, from its own first sale
      sale('B', 28, 5), // week 4: the data's last week
      { ...sale('A', 21, 9), purchase: false, quantity: 0 }, // a view: no demand
      sale('A', 22, 0), // a purchase of nothing: no demand
    ]);
    expect(lastWeek).toBe(weekIndex(MONDAY) + 4);
    const byKey = Object.fromEntries(
      [...series.values()].map((s) => [`${s.item}/${s.store}`, s.values] as const),
    );
    expect(byKey).toEqual({
      'A/all': [5, 0, 4, 0, 0],
      'A/FR': [1, 0, 0],
      'B/all': [5],
    });
  });

  it('calls the last week partial when the data stops before a day of the week that trades', async () => {
    // Sales on Mondays and Fridays; the data ends on a Monday: that week's Friday is still to come.
    const endsMonday = await weeklySeries([sale('A', 0, 1), sale('A', 4, 1), sale('A', 7, 1)]);
    expect(endsMonday.lastWeekPartial).toBe(true);
    // Ends on a Friday, and nothing ever sold on a weekend: the week is over.
    const endsFriday = await weeklySeries([sale('A', 0, 1), sale('A', 4, 1), sale('A', 11, 1)]);
    expect(endsFriday.lastWeekPartial).toBe(false);
    // Ends on a Friday in a shop that sells on Sundays (Online Retail's export): partial.
    const sundays = await weeklySeries([sale('A', 6, 1), sale('A', 11, 1)]);
    expect(sundays.lastWeekPartial).toBe(true);
  });

  it('per item: one series over every store, named store "all"', async () => {
    const { series } = await weeklySeries(
      [sale('A', 0, 3, 'FR'), sale('A', 1, 2, 'DE'), sale('A', 8, 1)],
      'item',
    );
    expect([...series.values()]).toEqual([{ item: 'A', store: 'all', values: [5, 1] }]);
  });
});
