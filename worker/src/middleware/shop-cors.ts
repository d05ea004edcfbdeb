import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../app-env';
import { logConfigProblem } from '../log';
import { USER_SIGNATURE_HEADER } from '../routes/params';
import { parseShopOrigins } from '../settings';
import { ANONYMOUS_ID_HEADER, ANONYMOUS_ID_NEW_HEADER, USER_ID_HEADER } from '../shopper';

/** One CORS handler per distinct SHOP_ORIGINS value (settings do not change within an isolate). */
const handlers = new Map<string, MiddlewareHandler>();

function corsFor(raw: string): MiddlewareHandler {
  let handler = handlers.get(raw);
  if (!handler) {
    // An entry that is not an origin is never allowed; logged once, and on /healthz `config`.
    const problems: string[] = [];
    const allowed = parseShopOrigins(raw, problems);
    for (const problem of problems) logConfigProblem(problem);
    handler = cors({
      origin: (origin) => (allowed.has(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: [
        'content-type',
        ANONYMOUS_ID_HEADER,
        ANONYMOUS_ID_NEW_HEADER,
        USER_ID_HEADER,
        USER_SIGNATURE_HEADER,
      ],
      credentials: true,
      maxAge: 600,
    });
    handlers.set(raw, handler);
  }
  return handler;
}

/**
 * CORS for the shop's own pages in script mode: only origins listed in `SHOP_ORIGINS` get CORS headers
 * (with credentials, so the `rx_uid` cookie travels on same-site subdomains); any other origin gets none,
 * so browsers refuse it. An empty setting allows no cross-origin use (proxy mode is same-origin).
 */
export function shopCors(): MiddlewareHandler<AppEnv> {
  return async function shopCors(c, next) {
    return corsFor(c.env.SHOP_ORIGINS ?? '')(c, next);
  };
}
