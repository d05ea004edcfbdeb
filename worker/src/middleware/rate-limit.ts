import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { errorBody } from '../errors';
import { reportFailure } from '../health';
import { logRepeating } from '../log-repeating';
import { anonymousIdFromCookieHeader, userHash } from '../shopper';

/**
 * Per-client limits with the Workers rate-limiting binding (`RATE_LIMITER`, 600 requests a minute in
 * wrangler.toml). The client is the connecting IP (set by Cloudflare's edge), else the `rx_uid` cookie;
 * it is hashed before it reaches the binding. Requests with neither (local tools) are not limited.
 * If the binding itself fails the request goes through: a limiter outage must not take the API down.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    const limiter = c.env.RATE_LIMITER;
    if (!limiter || c.req.method === 'OPTIONS') return next();
    const client =
      c.req.header('cf-connecting-ip') ?? anonymousIdFromCookieHeader(c.req.header('cookie') ?? null);
    if (!client) return next();
    try {
      const key = await userHash(c.env.SITE_ID, `ratelimit\n${client}`);
      const { success } = await limiter.limit({ key });
      if (!success) {
        c.header('retry-after', '60');
        return c.json(
          errorBody('rate_limited', 'Too many requests from this client; retry in a minute'),
          429,
        );
      }
    } catch (error) {
      reportFailure('rate_limiter', error);
      logRepeating('warn', 'rate_limiter_failed', { error });
    }
    return next();
  };
}
