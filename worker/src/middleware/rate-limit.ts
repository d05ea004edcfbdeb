import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import type { Env } from '../env';
import { errorBody } from '../errors';
import { headerHasSegmentWriteKey, serverWriteKey } from '../events/segment-auth';
import { SEGMENT_CALL_PATHS } from '../events/segment-routes';
import { reportFailure } from '../health';
import { logRepeating } from '../log-repeating';
import { anonymousIdFromCookieHeader, limiterKey } from '../shopper';
import { withDeadline } from '../with-deadline';
import { clientNetwork } from './client-network';

/**
 * Per-client limits with the Workers rate-limiting binding (`RATE_LIMITER`, 600 requests a minute in
 * wrangler.toml). The client is the connecting IP (set by Cloudflare's edge; an IPv6 address by its
 * /64, see clientNetwork), else the `rx_uid` cookie; it is hashed (limiterKey: keyed with
 * USER_HASH_KEY, in a space of its own, so a counter's key is never a shopper's pseudonym and a
 * shopper's pseudonym never a counter's) before it reaches the binding.
 * Requests with neither (local tools) are not limited. If the binding itself fails, or does not answer
 * in time (limiterAllows), the request goes through: a limiter outage must not take the API down.
 *
 * The limit is a shopper's: servers that speak for many shoppers from one address are not counted
 * against it (see serverRequest), or a shop's checkout and its Segment source would share one
 * shopper's budget per IP and be refused at a few hundred shoppers a minute.
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async function rateLimit(c, next) {
    if (c.req.method === 'OPTIONS' || (await serverRequest(c))) return next();
    if (await overShopperLimit(c)) {
      c.header('retry-after', '60');
      return c.json(errorBody('rate_limited', 'Too many requests from this client; retry in a minute'), 429);
    }
    return next();
  };
}

/**
 * Whether this request's client (see rateLimit) is over the shopper limit; counts the request. False
 * without the binding, for a client with neither address nor cookie, and when the binding fails
 * (reported in `/healthz` `rate_limiter`): a limiter outage must not take anything down. The proxy
 * asks it too, after a page, before sending that page's page-view event: a page is never refused, but
 * a client fetching hundreds of product pages a minute with fresh cookies does not get each counted as
 * a shopper's view (which would inflate those products' popularity without bound).
 */
export async function overShopperLimit(c: Context<AppEnv>): Promise<boolean> {
  const limiter = c.env.RATE_LIMITER;
  if (!limiter) return false;
  const ip = c.req.header('cf-connecting-ip');
  const client = ip ? clientNetwork(ip) : anonymousIdFromCookieHeader(c.req.header('cookie') ?? null);
  if (!client) return false;
  return !(await limiterAllows(c.env, limiter, `ratelimit\n${client}`));
}

/**
 * How long a request waits for the limiter binding. Its counters are cached in the isolate's own
 * location, so an answer takes well under a millisecond; a binding that hangs must not hold every
 * request (and each failed admin login) until the runtime cancels it.
 */
export const RATE_LIMITER_DEADLINE_MS = 100;

/**
 * Counts one request of `keyText`'s client (hashed by limiterKey first) and says whether it is within
 * the limit. A limiter that throws or does not answer within RATE_LIMITER_DEADLINE_MS allows it: a
 * limiter outage must not take anything down. It is logged (capped) and shown on `/healthz`
 * `rate_limiter`.
 */
export async function limiterAllows(env: Env, limiter: RateLimit, keyText: string): Promise<boolean> {
  try {
    const key = await limiterKey(env, keyText);
    const { success } = await withDeadline(
      limiter.limit({ key }),
      RATE_LIMITER_DEADLINE_MS,
      'the rate limiter',
    );
    return success;
  } catch (error) {
    reportFailure('rate_limiter', error);
    logRepeating('warn', 'rate_limiter_failed', { error });
    return true;
  }
}

/**
 * Requests a shop's servers make, which are not a shopper's:
 * - `POST /v1/prices/verify`: the checkout's server asks for every order from its one address, and
 *   there is no server credential to tell it from a browser (docs/api.md "POST /v1/prices/verify").
 *   It is not limited here: it reads no shopper's data (a token verifies only for the shopper it
 *   names), touches no Redis and runs no model, and its body is bounded (100 tokens, 256 KB), so an
 *   unlimited caller costs HMAC checks, not anyone's data or a shared budget. Only its failed guesses
 *   of an unsigned user id have a budget (verify-guesses.ts);
 * - the Segment-compatible intake (SEGMENT_CALL_PATHS only) with the server sources' own
 *   `SEGMENT_SERVER_WRITE_KEY` in its Basic auth (a Segment or RudderStack server). Not with
 *   `SEGMENT_WRITE_KEY`: a browser source (RudderStack JS) puts that one in the shop's pages, and with
 *   it anyone could send unlimited events from one address. A key sent in the body is not checked here
 *   (the limiter reads no body), so those requests count as a shopper's. Only those paths: with the
 *   server key, recommendations and prices are still limited as anyone's.
 */
async function serverRequest(c: Context<AppEnv>): Promise<boolean> {
  if (c.req.method !== 'POST') return false;
  if (c.req.path === '/v1/prices/verify') return true;
  const authorization = c.req.header('authorization');
  return (
    SEGMENT_CALL_PATHS.includes(c.req.path) &&
    authorization !== undefined &&
    headerHasSegmentWriteKey(authorization, serverWriteKey(c.env))
  );
}
