import { zValidator } from '@hono/zod-validator';
import { Redis } from '@upstash/redis/cloudflare';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { dayOf, LIVE_DAYS } from '../live';
import { readLiveFigures } from '../live/read-live';
import { log } from '../log';
import { adminAuth } from '../middleware/admin-auth';
import { holdoutPercent } from '../shopper';
import { rejectInvalid } from './query-errors';

/** An operator's read, not a shopper's: it may wait longer than the cache budget of a page. */
const LIVE_READ_TIMEOUT_MS = 5_000;
const DAY_MS = 86_400_000;

const LiveQuerySchema = z.object({
  days: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(LIVE_DAYS, `must be at most ${LIVE_DAYS}`)
    .default(7),
});

/**
 * `GET /admin/live?days=N` (Authorization: Bearer ADMIN_TOKEN) → this site's experiment as the consumer
 * counts it, live: per UTC day of the last N (today included) and over them, per arm, browsers,
 * buyers, conversion, recommendation impressions, clicks and click-through (in total and per
 * placement), orders and revenue per currency (worker/src/live/). A glance, not a verdict: no
 * intervals; `npm run report` reads the stored events and says what is significant.
 */
export const adminLive = new Hono<AppEnv>().get(
  '/',
  adminAuth(),
  zValidator('query', LiveQuerySchema, rejectInvalid('query')),
  async (c) => {
    const url = c.env.UPSTASH_REDIS_REST_URL;
    const token = c.env.UPSTASH_REDIS_REST_TOKEN;
    if (!url || !token)
      throw new ApiError(503, 'cache_missing', 'No Upstash Redis is configured: live counters live there');
    const { days } = c.req.valid('query');
    const now = Date.now();
    const window = Array.from({ length: days }, (_, index) => dayOf(now - (days - 1 - index) * DAY_MS));
    const redis = new Redis({
      url,
      token,
      retry: { retries: 0 },
      signal: () => AbortSignal.timeout(LIVE_READ_TIMEOUT_MS),
      automaticDeserialization: false,
      enableTelemetry: false,
    });
    let figures: Awaited<ReturnType<typeof readLiveFigures>>;
    try {
      figures = await readLiveFigures(redis, c.env.SITE_ID, window);
    } catch (error) {
      log('warn', 'live_read_failed', { error });
      throw new ApiError(503, 'cache_unavailable', 'The live counters could not be read from Redis');
    }
    c.header('cache-control', 'no-store');
    return c.json({
      site: c.env.SITE_ID,
      from: window[0],
      to: window[window.length - 1],
      holdout_percent: holdoutPercent(c.env.HOLDOUT_PERCENT),
      ...figures,
    });
  },
);
