/**
 * The live experiment counters' shape, shared by their writer (record-live.ts, in the consumer) and
 * their reader (read-live.ts, `GET /admin/live`). Keys are in cache/keys.ts.
 */
import type { Bucket } from '../../../contracts/events';
import { PLACEMENTS } from '../recommend/types';

/** The experiment's arms, in the order the counters are read and shown. */
export const LIVE_BUCKETS: readonly Bucket[] = ['treatment', 'holdout'];

/** Days of counters kept, and the longest window `GET /admin/live?days=` shows. */
export const LIVE_DAYS = 35;

/** How long liveCountedAtKey stays: as long as the counters of the day it was set on. */
export const LIVE_COUNTED_AT_SECONDS = (LIVE_DAYS + 1) * 86_400;

/** A placement as counted: one the API knows, `none` when the event named none, else `other`. */
export type LivePlacement = (typeof PLACEMENTS)[number] | 'none' | 'other';

/**
 * A counter of a day's hash. Revenue is in thousandths of the currency unit, so that HINCRBY (an
 * integer) adds it exactly whatever the currency's minor unit (JPY has none, KWD three). The currency is
 * three letters, or `???` when the order named none (contracts/order-value.ts).
 */
export type Counter =
  | 'events'
  | 'impressions'
  | 'clicks'
  | 'orders'
  | 'unpriced_orders'
  | `${'impressions' | 'clicks'}:${LivePlacement}`
  | `revenue_milli:${string}`;

/** A counter's field in the day's hash. */
export function liveCounterField(bucket: Bucket, counter: Counter): string {
  return `${liveCounterPrefix(bucket)}${counter}`;
}

/** What every field of a bucket's counters starts with. */
export function liveCounterPrefix(bucket: Bucket): string {
  return `${bucket}|`;
}

/** Bounded: an event may name any placement, and each name would be two more fields a day. */
export function livePlacement(placement: string | undefined): LivePlacement {
  if (placement === undefined || placement === '') return 'none';
  return (PLACEMENTS as readonly string[]).includes(placement) ? (placement as LivePlacement) : 'other';
}

/** A placement name as livePlacement gives them. */
export function isLivePlacement(name: string | undefined): name is LivePlacement {
  return name === 'none' || name === 'other' || (PLACEMENTS as readonly string[]).includes(name ?? '');
}

const DAY_MS = 86_400_000;

/** The UTC day of an epoch-ms time, `YYYY-MM-DD`. */
export function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/**
 * The `count` UTC days up to and including the one of `now`, oldest first: the window `/admin/live`
 * reads (`?days=`), and with LIVE_DAYS the days the consumer still counts into.
 */
export function lastDays(count: number, now: number): string[] {
  return Array.from({ length: count }, (_, index) => dayOf(now - (count - 1 - index) * DAY_MS));
}

/** Whether `time` (epoch ms) falls on one of the last LIVE_DAYS days, or at most a day after `now`. */
export function isLiveTime(time: number, now: number): boolean {
  const [oldest = ''] = lastDays(LIVE_DAYS, now);
  return time >= Date.parse(`${oldest}T00:00:00Z`) && time <= now + DAY_MS;
}
