import type { Redis } from '@upstash/redis/cloudflare';
import type { Bucket } from '../../../contracts/events';
import type { LiveAnswer, LiveArm, LiveArms, LiveEngagement } from '../../../contracts/live-api';
import { liveCountedAtKey, liveCountersKey, liveShoppersKey } from '../cache/keys';
import { logRepeating } from '../log-repeating';
import { isLivePlacement, LIVE_BUCKETS, type LivePlacement, liveCounterPrefix } from './live-counters';

/** A currency as record-live.ts writes it (contracts/order-value.ts); any other field is not ours. */
const CURRENCY = /^(?:[A-Z]{3}|\?\?\?)$/;

type LiveFigures = Pick<LiveAnswer, 'days' | 'total'> & {
  /** When the consumer last counted events of the site (epoch ms), null when not noted (liveCountedAtKey). */
  lastCountedAt: number | null;
};

/**
 * Reads the live counters of `site` for `days` (UTC days, `YYYY-MM-DD`) in one round trip: each day's
 * hash, each day's and the window's PFCOUNTs (a PFCOUNT of several keys counts their union, so a
 * browser seen on three days is one browser of the window), and when the consumer last counted.
 */
export async function readLiveFigures(
  redis: Redis,
  site: string,
  days: readonly string[],
): Promise<LiveFigures> {
  const pipeline = redis.pipeline();
  for (const day of days) pipeline.hgetall(liveCountersKey(site, day));
  const who = ['browsers', 'buyers'] as const;
  for (const day of days) {
    for (const bucket of LIVE_BUCKETS)
      for (const kind of who) pipeline.pfcount(liveShoppersKey(site, day, bucket, kind));
  }
  for (const bucket of LIVE_BUCKETS) {
    for (const kind of who) {
      const [first, ...rest] = days.map((day) => liveShoppersKey(site, day, bucket, kind));
      if (first !== undefined) pipeline.pfcount(first, ...rest);
    }
  }
  pipeline.get(liveCountedAtKey(site));
  const replies = await pipeline.exec<unknown[]>();
  const countedAt = Number(replies[replies.length - 1] ?? Number.NaN);
  let next = days.length;
  const counts = () => Number(replies[next++] ?? 0);

  const hashes = days.map((_, index) => countersOf(replies[index]));
  const shoppersOfDay = days.map(() => shoppersByBucket(counts));
  const totalShoppers = shoppersByBucket(counts);
  const sums = new Map<string, number>();
  for (const hash of hashes)
    for (const [field, value] of hash) sums.set(field, (sums.get(field) ?? 0) + value);
  return {
    days: days.map((day, index) => ({
      day,
      arms: armsOf(hashes[index] ?? new Map(), shoppersOfDay[index] ?? shoppersByBucket(() => 0)),
    })),
    total: armsOf(sums, totalShoppers),
    lastCountedAt: Number.isSafeInteger(countedAt) && countedAt > 0 ? countedAt : null,
  };
}

type Shoppers = Record<Bucket, { browsers: number; buyers: number }>;

/** The next four PFCOUNT replies, in the order readLiveFigures asked for them. */
function shoppersByBucket(next: () => number): Shoppers {
  const treatment = { browsers: next(), buyers: next() };
  const holdout = { browsers: next(), buyers: next() };
  return { treatment, holdout };
}

/**
 * A day's hash as field → integer. The client hands HGETALL back as `[field, value, ...]` when it
 * does not deserialize; anything not an integer (not ours) is skipped. A counter past 2^53 (a day's
 * revenue in thousandths past about 9e15: nine orders at MAX_ORDER_VALUE) is exact in Redis (64 bits)
 * but read as the nearest double: kept, within 1e-16 of itself, and logged. Skipped, as it once was,
 * the arm's revenue in that currency vanished from the screen without a word.
 */
function countersOf(reply: unknown): Map<string, number> {
  const counters = new Map<string, number>();
  const entries: Array<[unknown, unknown]> = [];
  if (Array.isArray(reply))
    for (let i = 0; i + 1 < reply.length; i += 2) entries.push([reply[i], reply[i + 1]]);
  else if (reply !== null && typeof reply === 'object') entries.push(...Object.entries(reply));
  for (const [field, value] of entries) {
    const amount = Number(value);
    if (typeof field !== 'string' || !Number.isInteger(amount)) continue;
    if (!Number.isSafeInteger(amount)) logRepeating('warn', 'live_counter_past_2_53', { field });
    counters.set(field, amount);
  }
  return counters;
}

function armsOf(counters: ReadonlyMap<string, number>, shoppers: Shoppers): LiveArms {
  const arms = {
    treatment: armOf(counters, 'treatment', shoppers.treatment),
    holdout: armOf(counters, 'holdout', shoppers.holdout),
  };
  // An arm with browsers and no revenue in a currency the other arm has revenue in: 0 per browser
  // there, as `npm run report` shows it, not no figure.
  for (const [arm, other] of [
    [arms.treatment, arms.holdout],
    [arms.holdout, arms.treatment],
  ] as const) {
    if (arm.browsers === 0) continue;
    for (const currency of Object.keys(other.revenue)) arm.revenue_per_browser[currency] ??= 0;
  }
  return arms;
}

function armOf(
  counters: ReadonlyMap<string, number>,
  bucket: Bucket,
  shoppers: { browsers: number; buyers: number },
): LiveArm {
  const prefix = liveCounterPrefix(bucket);
  const get = (counter: string) => counters.get(`${prefix}${counter}`) ?? 0;
  const revenue: Record<string, number> = {};
  const revenuePerBrowser: Record<string, number> = {};
  const placements: Partial<Record<LivePlacement, LiveEngagement>> = {};
  for (const [field, value] of counters) {
    if (!field.startsWith(prefix)) continue;
    const counter = field.slice(prefix.length);
    const [name, detail] = counter.split(':', 2);
    if (name === 'revenue_milli' && detail !== undefined && CURRENCY.test(detail)) {
      revenue[detail] = value / 1000;
      if (shoppers.browsers > 0) revenuePerBrowser[detail] = value / 1000 / shoppers.browsers;
    } else if ((name === 'impressions' || name === 'clicks') && isLivePlacement(detail)) {
      const placement = detail;
      const engagement = placements[placement] ?? { impressions: 0, clicks: 0 };
      engagement[name] += value;
      placements[placement] = engagement;
    }
  }
  const impressions = get('impressions');
  const clicks = get('clicks');
  return {
    browsers: shoppers.browsers,
    buyers: shoppers.buyers,
    conversion_rate: ratio(shoppers.buyers, shoppers.browsers),
    events: get('events'),
    impressions,
    clicks,
    click_through_rate: ratio(clicks, impressions),
    orders: get('orders'),
    unpriced_orders: get('unpriced_orders'),
    revenue,
    revenue_per_browser: revenuePerBrowser,
    placements,
  };
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : null;
}
