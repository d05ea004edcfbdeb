/** Weekly demand series per item and store, from purchase interactions. */
import type { Interaction } from '../data/types';

const WEEK_MS = 7 * 86_400_000;
/** 1970-01-05 was a Monday: weeks start on Mondays (ISO), counted from there. */
const MONDAY_EPOCH = Date.UTC(1970, 0, 5);

/** Index of the ISO week (Monday start, UTC) containing `time`. */
export function weekIndex(time: number): number {
  return Math.floor((time - MONDAY_EPOCH) / WEEK_MS);
}

/** The Monday (YYYY-MM-DD) that starts week `index`. */
export function weekStart(index: number): string {
  return new Date(MONDAY_EPOCH + index * WEEK_MS).toISOString().slice(0, 10);
}

/** ISO day of the week of `time` (UTC): 0 Monday … 6 Sunday. */
function isoWeekday(time: number): number {
  return (new Date(time).getUTCDay() + 6) % 7;
}

/** What one forecast series covers: an item in one store, or an item over every store. */
export type ForecastLevel = 'store' | 'item';

/** One item's weekly demand in one store. */
export interface WeeklySeries {
  item: string;
  store: string;
  /** Units per week, from the week of its first sale to the data's last week. */
  values: number[];
}

/** Weekly quantities per (item, store), each series from its first sale to the data's last week. */
export async function weeklySeries(
  interactions: AsyncIterable<Interaction> | Iterable<Interaction>,
  /** `item`: one series per item over every store (store `all`); `store` (default): one per item and store. */
  per: ForecastLevel = 'store',
): Promise<{
  series: Map<string, WeeklySeries>;
  lastWeek: number;
  /**
   * Whether the data stops before its last week's trading days are over: a later day of the week
   * had sales in other weeks (an export taken on a Friday). The forecast still fits on that week: in
   * emulated Friday exports of Online Retail, leaving it out was worse 6 times in 7 (docs/trainer.md
   * "Forecast"), its recent demand outweighing its missing days. A backtest does not hold it out.
   */
  lastWeekPartial: boolean;
}> {
  const sums = new Map<string, { item: string; store: string; first: number; weeks: Map<number, number> }>();
  let lastWeek = Number.NEGATIVE_INFINITY;
  let lastTime = Number.NEGATIVE_INFINITY;
  const tradingDays = new Set<number>();
  for await (const it of interactions) {
    if (!it.purchase || it.quantity <= 0) continue;
    const store = per === 'store' ? (it.store ?? 'all') : 'all';
    const key = `${it.item}\u0000${store}`;
    const week = weekIndex(it.time);
    lastWeek = Math.max(lastWeek, week);
    lastTime = Math.max(lastTime, it.time);
    tradingDays.add(isoWeekday(it.time));
    const entry = sums.get(key) ?? { item: it.item, store, first: week, weeks: new Map<number, number>() };
    entry.first = Math.min(entry.first, week);
    entry.weeks.set(week, (entry.weeks.get(week) ?? 0) + it.quantity);
    sums.set(key, entry);
  }
  const series = new Map<string, WeeklySeries>();
  for (const [key, e] of sums) {
    // Weeks without sales are zero demand, not missing data.
    const values = Array.from({ length: lastWeek - e.first + 1 }, (_, i) => e.weeks.get(e.first + i) ?? 0);
    series.set(key, { item: e.item, store: e.store, values });
  }
  const lastDay = isoWeekday(lastTime);
  const lastWeekPartial = [...tradingDays].some((day) => day > lastDay);
  return { series, lastWeek, lastWeekPartial };
}
