import { errorBody } from '../errors';

/**
 * What the proxy answers when it has no page of the shop to give: the origin is unreachable (502), or
 * ORIGIN_URL cannot be used (503). A shopper's browser gets a short page, an API client the JSON error.
 */

/** The error code of an origin that could not be reached (fetchOrigin throws it; proxy.ts answers it). */
export const ORIGIN_UNREACHABLE = 'origin_unreachable';

/**
 * What a shopper's browser shows when the shop cannot be shown: "come back later", no value of any
 * setting and nothing about the origin (the comment, for the site owner, names the error code).
 */
function unavailablePage(code: string, cause: string, retry: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Temporarily unavailable</title></head>
<body><h1>This shop is temporarily unavailable</h1><p>Please try again in ${retry}.</p>
<!-- ${code}: ${cause}; /healthz names the problem --></body></html>
`;
}

/** One answer of the proxy when it has no page of the shop to give. */
interface Unavailable {
  status: 502 | 503;
  code: string;
  message: string;
  retryAfterSeconds: number;
  /** The short HTML page for a browser navigation (`unavailablePage`). */
  page: string;
}

/**
 * The proxy's answer when it has no page of the shop to give: a browser navigation (Accept includes
 * text/html) gets a short HTML page, anything else the API's JSON error (`{"error": {"code", ...}}`).
 * Never stored (no-store), with a Retry-After: crawlers take the answer as temporary.
 */
function unavailable(request: Request, answer: Unavailable): Response {
  const headers = {
    'cache-control': 'no-store',
    'retry-after': String(answer.retryAfterSeconds),
  };
  if ((request.headers.get('accept') ?? '').includes('text/html')) {
    return new Response(answer.page, {
      status: answer.status,
      headers: { ...headers, 'content-type': 'text/html; charset=utf-8' },
    });
  }
  return Response.json(errorBody(answer.code, answer.message), { status: answer.status, headers });
}

/** How long a client is asked to wait while ORIGIN_URL is unusable: a fix is a deploy away. */
const MISCONFIGURED_RETRY_AFTER_SECONDS = 300;

const MISCONFIGURED: Unavailable = {
  status: 503,
  code: 'origin_misconfigured',
  message:
    'The shop cannot be reached through this address: its ORIGIN_URL setting is not an http(s) URL (see /healthz)',
  retryAfterSeconds: MISCONFIGURED_RETRY_AFTER_SECONDS,
  page: unavailablePage(
    'origin_misconfigured',
    "the worker's ORIGIN_URL setting is not an http(s) URL",
    'a few minutes',
  ),
};

/**
 * The answer to every proxied request while ORIGIN_URL is set but not an http(s) URL: no page can be
 * fetched, so the shopper is told the shop is unavailable, clearly and without the setting's value
 * (the origin's host is not for the public), instead of a bare 500. 503 rather than 502: no origin was
 * asked (502 `origin_unreachable` stays the origin's own failure), the service is unavailable until
 * the settings are fixed, as for other missing configuration (`model_store_missing`), and crawlers
 * take a 503 with Retry-After as temporary instead of dropping the shop's pages. Never stored (no-store).
 * A browser navigation gets a short HTML page, anything else the API's JSON error. The problem itself
 * is logged once per isolate as `config_problem` (proxySettings) and shown by `/healthz` (`config: down`).
 */
export function originMisconfigured(request: Request): Response {
  return unavailable(request, MISCONFIGURED);
}

/** How long a client is asked to wait when the origin could not be reached: it is often back soon. */
const UNREACHABLE_RETRY_AFTER_SECONDS = 30;

const UNREACHABLE: Unavailable = {
  status: 502,
  code: ORIGIN_UNREACHABLE,
  message: 'The shop could not be reached',
  retryAfterSeconds: UNREACHABLE_RETRY_AFTER_SECONDS,
  page: unavailablePage(ORIGIN_UNREACHABLE, 'the worker could not reach the shop at ORIGIN_URL', 'a moment'),
};

/**
 * The answer when the request to the origin failed (connection refused, DNS or TLS failure, or on
 * Cloudflare its 520-530 answer in the origin's place): 502 `origin_unreachable` as documented, for a
 * browser a short page instead of raw JSON, never stored, and a short Retry-After. Logged as
 * `origin_unreachable`; `/healthz` shows the origin degraded (origin-fetch.ts).
 */
export function originUnreachable(request: Request): Response {
  return unavailable(request, UNREACHABLE);
}
