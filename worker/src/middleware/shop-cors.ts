import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../app-env';
import { SEGMENT_CALL_PATHS } from '../events/segment-routes';
import { logConfigProblem } from '../log';
import { USER_SIGNATURE_HEADER } from '../routes/params';
import { parseShopOrigins } from '../settings';
import { ANONYMOUS_ID_HEADER, ANONYMOUS_ID_NEW_HEADER, USER_ID_HEADER } from '../shopper';

/** Request headers the shop's pages send: rx.js's shopper ids and signature. */
const SHOP_HEADERS = [
  'content-type',
  ANONYMOUS_ID_HEADER,
  ANONYMOUS_ID_NEW_HEADER,
  USER_ID_HEADER,
  USER_SIGNATURE_HEADER,
];

/**
 * What RudderStack JS adds on the Segment-compatible routes: the write key as Basic auth and an
 * `AnonymousId` header (the body's anonymousId, base64; the worker reads the body's). Allowed there only:
 * no other route reads `Authorization` from a browser, and a preflight answer says no more than needed.
 */
const SEGMENT_SENDER_HEADERS = [...SHOP_HEADERS, 'authorization', 'anonymousid'];

interface ShopCorsHandlers {
  shop: MiddlewareHandler;
  segment: MiddlewareHandler;
}

/** The CORS handlers of each distinct SHOP_ORIGINS value (settings do not change within an isolate). */
const handlers = new Map<string, ShopCorsHandlers>();

function corsFor(raw: string): ShopCorsHandlers {
  let forOrigins = handlers.get(raw);
  if (!forOrigins) {
    // An entry that is not an origin is never allowed; logged once, and on /healthz `config`.
    const problems: string[] = [];
    const allowed = parseShopOrigins(raw, problems);
    for (const problem of problems) logConfigProblem(problem);
    const withHeaders = (allowHeaders: string[]) =>
      cors({
        origin: (origin) => (allowed.has(origin) ? origin : null),
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders,
        credentials: true,
        maxAge: 600,
      });
    forOrigins = { shop: withHeaders(SHOP_HEADERS), segment: withHeaders(SEGMENT_SENDER_HEADERS) };
    handlers.set(raw, forOrigins);
  }
  return forOrigins;
}

/**
 * CORS for the shop's own pages in script mode: only origins listed in `SHOP_ORIGINS` get CORS headers
 * (with credentials, so the `rx_uid` cookie travels on same-site subdomains); any other origin gets none,
 * so browsers refuse it. An empty setting allows no cross-origin use (proxy mode is same-origin).
 * The Segment-compatible routes also allow the headers of a Segment-compatible library on those pages.
 */
export function shopCors(): MiddlewareHandler<AppEnv> {
  return async function shopCors(c, next) {
    const forOrigins = corsFor(c.env.SHOP_ORIGINS ?? '');
    const handler = SEGMENT_CALL_PATHS.includes(c.req.path) ? forOrigins.segment : forOrigins.shop;
    return handler(c, next);
  };
}
