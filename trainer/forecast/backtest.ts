/**
 * How good the weekly forecast is (`npm run forecast -- --backtest`): the last `horizon` complete weeks
 * of the data are held out, every series is forecast from the weeks before them, and the forecasts are
 * compared with what was sold, beside simple baselines a planner would otherwise use.
 */
import { forecastLevel } from './smoothing';
import type { WeeklySeries } from './weekly';

/** A forecasting method: the flat forecast for the weeks after `history`. */
type Method = (history: readonly number[]) => number;

const mean = (values: readonly number[]) =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

/** The served method first, then the baselines, in the order the table prints them. */
export const METHODS: ReadonlyArray<readonly [string, Method]> = [
  ['exponential smoothing (served)', (history) => forecastLevel(history).level],
  ['mean of the last 4 weeks', (history) => mean(history.slice(-4))],
  ['mean of all weeks', (history) => mean(history)],
  ['last week (naive)', (history) => history[history.length - 1] ?? 0],
  ['zero', () => 0],
];

/** Errors of one method over every held-out (series, week). */
export interface BacktestRow {
  method: string;
  /** Mean absolute error per series and week, in units. */
  mae: number;
  /**
   * Σ|forecast − actual| / Σ actual: the retail standard for intermittent demand (lower is better);
   * null when nothing sold in the held-out weeks (a ratio to zero units is no score, and 0 read as perfect).
   */
  wape: number | null;
  /** Σ(forecast − actual) / Σ actual: over- (+) or under-forecasting (−); null as `wape` is. */
  bias: number | null;
}

/** What a backtest measured, and on what. */
export interface BacktestResult {
  horizon: number;
  /** Index of the first and the last held-out week. */
  weeks: { first: number; last: number };
  /** Series forecast (those with at least one week of sales before the held-out weeks). */
  series: number;
  /** Series whose first sale is in the held-out weeks: no method can forecast them; left out. */
  newSeries: number;
  /** Series first sold in a partial last week (after the held-out weeks): nothing to test; left out. */
  partialWeekSeries: number;
  /** Units sold in the held-out weeks by the series forecast. */
  actualUnits: number;
  rows: BacktestRow[];
}

/**
 * Backtests every method on the last `horizon` complete weeks. `lastWeek` is the data's last week;
 * when it is partial it is not one of them (it is no week of demand to compare with).
 */
export function backtest(
  series: Iterable<WeeklySeries>,
  lastWeek: number,
  lastWeekPartial: boolean,
  horizon: number,
): BacktestResult {
  const last = lastWeekPartial ? lastWeek - 1 : lastWeek;
  const first = last - horizon + 1;
  const totals = METHODS.map(() => ({ absolute: 0, signed: 0 }));
  let actualUnits = 0;
  let cells = 0;
  let count = 0;
  let newSeries = 0;
  let partialWeekSeries = 0;
  for (const s of series) {
    const weeks = lastWeekPartial ? s.values.slice(0, -1) : s.values;
    const start = lastWeek - s.values.length + 1;
    const historyLength = first - start;
    if (start > last) {
      partialWeekSeries += 1;
      continue;
    }
    if (historyLength <= 0) {
      newSeries += 1;
      continue;
    }
    const history = weeks.slice(0, historyLength);
    const actual = weeks.slice(historyLength, historyLength + horizon);
    count += 1;
    METHODS.forEach(([, method], m) => {
      const forecast = method(history);
      const total = totals[m] as { absolute: number; signed: number };
      for (const sold of actual) {
        total.absolute += Math.abs(forecast - sold);
        total.signed += forecast - sold;
      }
    });
    for (const sold of actual) actualUnits += sold;
    cells += actual.length;
  }
  const rows = METHODS.map(([method], m) => {
    const total = totals[m] as { absolute: number; signed: number };
    return {
      method,
      mae: cells === 0 ? 0 : total.absolute / cells,
      wape: actualUnits === 0 ? null : total.absolute / actualUnits,
      bias: actualUnits === 0 ? null : total.signed / actualUnits,
    };
  });
  return { horizon, weeks: { first, last }, series: count, newSeries, partialWeekSeries, actualUnits, rows };
}
