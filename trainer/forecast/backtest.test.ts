import { describe, expect, it } from 'vitest';
import { backtest } from './backtest';

/** A series whose values run to the data's last week (100). */
const series = (item: string, values: number[]) => ({ item, store: 'all', values });

describe('forecast backtest', () => {
  it('forecasts the held-out weeks from the weeks before them and scores every method on the same cells', () => {
    const result = backtest(
      [
        // Weeks 95-98 fit, 99-100 held out (horizon 2).
        series('A', [4, 4, 4, 4, 6, 2]),
        series('B', [0, 0, 8, 0, 0, 4]),
        // First sold in a held-out week: no method can forecast it.
        series('new', [5]),
      ],
      100,
      false,
      2,
    );
    expect(result.weeks).toEqual({ first: 99, last: 100 });
    expect(result).toMatchObject({ series: 2, newSeries: 1, actualUnits: 12 });
    const row = (method: string) => result.rows.find((r) => r.method === method);
    // Last week: A 4 (|4-6| + |4-2| = 4), B 0 (0 + 4): 8 over 4 cells and 12 units; bias (-4)/12.
    expect(row('last week (naive)')).toEqual({
      method: 'last week (naive)',
      mae: 2,
      wape: 8 / 12,
      bias: -4 / 12,
    });
    // Mean of all weeks: A 4 (|4-6| + |4-2| = 4), B 2 (|2-0| + |2-4| = 4): 8, and they cancel out.
    expect(row('mean of all weeks')).toMatchObject({ mae: 2, wape: 8 / 12, bias: 0 });
    expect(row('zero')).toMatchObject({ wape: 1, bias: -1 });
    // The served method is there, first, and its errors are summed over the same cells.
    expect(result.rows[0]?.method).toBe('exponential smoothing (served)');
    expect(result.rows[0]?.wape).toBeGreaterThan(0);
  });

  it('does not hold out a partial last week: the complete weeks before it are the test', () => {
    const result = backtest([series('A', [3, 3, 3, 9, 1])], 100, true, 1);
    // Week 100 is partial: week 99 (9 units) is held out, fitted on 96-98.
    expect(result.weeks).toEqual({ first: 99, last: 99 });
    expect(result.actualUnits).toBe(9);
    expect(result.rows.find((r) => r.method === 'last week (naive)')).toMatchObject({ mae: 6, bias: -6 / 9 });
  });

  it('a series first sold in the partial last week is not counted as first sold in the held-out weeks', () => {
    const result = backtest(
      [series('A', [3, 3, 3, 9, 1]), series('held', [4, 0]), series('late', [2])],
      100,
      true,
      1,
    );
    // Held out: week 99. "held" began in it; "late" only in the partial week 100, after it.
    expect(result).toMatchObject({ series: 1, newSeries: 1, partialWeekSeries: 1, actualUnits: 9 });
  });

  it('nothing sold in the held-out weeks: WAPE and bias are null (undefined), not 0 (a perfect score)', () => {
    const result = backtest([series('A', [10, 10, 10, 10, 0, 0])], 100, false, 2);
    expect(result.actualUnits).toBe(0);
    const naive = result.rows.find((r) => r.method === 'last week (naive)');
    expect(naive).toEqual({ method: 'last week (naive)', mae: 10, wape: null, bias: null });
  });
});
