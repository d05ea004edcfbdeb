/** Train/test splits of the evaluation protocols. */

import { InputError } from '../data/lines';
import { type Interaction, isSignal } from '../data/types';
import { utcDayStart } from '../data/utc-day';
import { NumpyRandomState } from '../math/mt19937';

/** `--history served` on a split that has no cut-off (MovieLens's random one), refused by eval. */
export const SERVED_NEEDS_TEMPORAL_SPLIT =
  '--history served needs a temporal split (not movielens): the worker keeps recent activity';

/** A split: training interactions and the test interactions to predict. */
export interface Split {
  train: Interaction[];
  test: Interaction[];
  description: string;
}

/**
 * Microsoft Recommenders `python_stratified_split(data, ratio=0.75, seed=42)`
 * (recommenders/datasets/python_splitters.py, `_do_stratification` with is_random=True):
 *   np.random.seed(seed); data["random"] = np.random.rand(data.shape[0])   # one key per row, file order
 *   data = data.sort_values([col_user, "random"])
 *   data["rank"] = (groupby(user).cumcount() + 1) / groupby(user).count()
 *   train: rank <= ratio; test: rank > ratio
 * So a user with n rows keeps floor(ratio·n) of them in training (n = 1: none, that user is then
 * test-only and, having no predictions, drops out of the metrics as in their `common_users`).
 * With the same row order (u.data as read) this reproduces their split row for row.
 */
export function stratifiedSplit(interactions: Interaction[], ratio = 0.75, seed = 42): Split {
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`split ratio must be in (0, 1), got ${ratio}`);
  const random = new NumpyRandomState(seed);
  const byUser = new Map<string, Array<{ row: Interaction; key: number; order: number }>>();
  interactions.forEach((row, order) => {
    const list = byUser.get(row.user) ?? [];
    list.push({ row, key: random.nextDouble(), order });
    byUser.set(row.user, list);
  });
  const train: Interaction[] = [];
  const test: Interaction[] = [];
  for (const list of byUser.values()) {
    // pandas sorts the two keys with a stable lexsort: ties (practically none) keep row order.
    list.sort((a, b) => a.key - b.key || a.order - b.order);
    list.forEach(({ row }, i) => {
      ((i + 1) / list.length <= ratio ? train : test).push(row);
    });
  }
  return {
    train,
    test,
    description: `per-user stratified random split ${ratio * 100}/${Math.round((1 - ratio) * 100)} (python_stratified_split, NumPy MT19937 seed ${seed})`,
  };
}

/**
 * The day (UTC midnight) by which `share` of the interactions happened: a default temporal cut-off.
 * Removals from the cart (no signal) are not counted.
 */
export function quantileCutoff(interactions: Interaction[], share = 0.9): number {
  const times = interactions
    .filter(isSignal)
    .map((it) => it.time)
    .sort((a, b) => a - b);
  const t = times[Math.min(times.length - 1, Math.floor(share * times.length))] ?? 0;
  return Math.floor(t / 86_400_000) * 86_400_000;
}

/**
 * Temporal split: train on everything before `cutoff`, test on purchases from `cutoff` on. Test rows
 * of customers or items absent from training are counted and left out (no model trained on that
 * window can know them; popularity serves new customers in production). Removals from the cart stay in
 * `train`, for the cart the worker would read at the cut-off, but make no one known (isSignal).
 */
export function temporalSplit(
  interactions: Interaction[],
  cutoff: number,
): Split & { newUsers: number; newItemRows: number } {
  const train = interactions.filter((it) => it.time < cutoff);
  const known = train.filter(isSignal);
  const users = new Set(known.map((it) => it.user));
  const items = new Set(known.map((it) => it.item));
  const after = interactions.filter((it) => it.time >= cutoff && it.purchase);
  const newUsers = new Set(after.filter((it) => !users.has(it.user)).map((it) => it.user)).size;
  const newItemRows = after.filter((it) => users.has(it.user) && !items.has(it.item)).length;
  const test = after.filter((it) => users.has(it.user) && items.has(it.item));
  // The day, or the moment when the cut-off is not a midnight (UTC), e.g. `--cutoff 2026-11-30T06:54Z`.
  const iso = new Date(cutoff).toISOString();
  const day = iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
  return {
    train,
    test,
    newUsers,
    newItemRows,
    description: `temporal: train before ${day}, test purchases from ${day} (${newUsers} new customers and ${newItemRows} purchases of new items left out)`,
  };
}

const CUTOFF_MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `--cutoff` as epoch ms: a day (UTC midnight) or a moment with its zone. `Date.parse` alone rolls
 * 2011-11-31 over to 12-01 and reads "12" as 2001-12-01, so the split would silently be another one.
 */
export function parseCutoff(raw: string): number {
  const day = utcDayStart(raw.slice(0, 10));
  const time =
    raw.length === 10 ? day : Number.isFinite(day) && CUTOFF_MOMENT.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(time))
    throw new InputError(`--cutoff must be a day (YYYY-MM-DD) or a moment (2011-11-30T06:54Z), got "${raw}"`);
  return time;
}
