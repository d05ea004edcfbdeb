import { zValidator } from '@hono/zod-validator';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { LiveAnswer } from '../../../contracts/live-api';
import type { AppEnv } from '../app-env';
import { offRequestRedis, upstashUrlProblem } from '../cache/redis-client';
import { ApiError } from '../errors';
import { LIVE_DAYS, lastDays } from '../live';
import { countingProblems } from '../live/counting-health';
import { readLiveFigures } from '../live/read-live';
import { SCREEN_HEADERS, SCREEN_HTML } from '../live/screen-page';
import { log } from '../log';
import { adminAuth, assertAdminEnabled } from '../middleware/admin-auth';
import { holdoutPercent } from '../shopper';
import { singleValuedQuery, wholeNumberParam } from './params';
import { rejectInvalid } from './query-errors';

/** An operator's read, not a shopper's: it may wait longer than the cache budget of a page. */
const LIVE_READ_TIMEOUT_MS = 5_000;

const LiveQuerySchema = z.object({
  days: wholeNumberParam(1, LIVE_DAYS, 7),
});

/**
 * `GET /admin/live?days=N` (Authorization: Bearer ADMIN_TOKEN) → this site's experiment as the consumer
 * counts it, live: per UTC day of the last N (today included) and over them, per arm, browsers,
 * buyers, conversion, recommendation impressions, clicks and click-through (in total and per
 * placement), orders and revenue per currency (worker/src/live/). A glance, not a verdict: no
 * intervals; `npm run report` reads the stored events and says what is significant. `counting` says
 * whether the counts are current: when the consumer last counted events of the site, and which parts
 * counting needs `/healthz` shows not ok (live/counting-health.ts), checked while the counts are read.
 */
export const adminLive = new Hono<AppEnv>()
  .get('/screen', screen)
  .get(
    '/',
    adminAuth(),
    zValidator('query', singleValuedQuery(LiveQuerySchema), rejectInvalid('query')),
    async (c) => {
      const redis = offRequestRedis(c.env, { timeoutMs: LIVE_READ_TIMEOUT_MS, retries: 0 });
      if (redis === undefined) {
        // No client: no Upstash settings, or a URL the client refuses (it names no part of the URL).
        const problem = upstashUrlProblem(c.env) ?? 'No Upstash Redis is configured';
        throw new ApiError(503, 'cache_missing', `${problem}: the live counters live in Upstash Redis`);
      }
      const { days } = c.req.valid('query');
      const now = Date.now();
      const window = lastDays(days, now);
      // Never throws: checked beside the read, not after it.
      const problems = countingProblems(c.env);
      let figures: Awaited<ReturnType<typeof readLiveFigures>>;
      try {
        figures = await readLiveFigures(redis, c.env.SITE_ID, window);
      } catch (error) {
        log('warn', 'live_read_failed', { error });
        throw new ApiError(503, 'cache_unavailable', 'The live counters could not be read from Redis');
      }
      const { lastCountedAt, ...counts } = figures;
      c.header('cache-control', 'no-store');
      const answer: LiveAnswer = {
        site: c.env.SITE_ID,
        from: window[0] ?? '',
        to: window[window.length - 1] ?? '',
        holdout_percent: holdoutPercent(c.env.HOLDOUT_PERCENT),
        ...counts,
        counting: {
          as_of: new Date(now).toISOString(),
          last_counted_at: lastCountedAt === null ? null : new Date(lastCountedAt).toISOString(),
          problems: await problems,
        },
      };
      return c.json(answer);
    },
  );

/**
 * `GET /admin/live/screen`: the page that shows `/admin/live` to a person (live/screen-page.ts). It needs
 * no token to load, as it holds nothing but the form that asks for one; like every admin path it is
 * off (404) without an ADMIN_TOKEN secret.
 */
function screen(c: Context<AppEnv>): Response {
  assertAdminEnabled(c.env);
  return c.body(SCREEN_HTML, 200, SCREEN_HEADERS);
}
