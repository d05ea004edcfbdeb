import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { PLUGIN_HASH, PLUGIN_JS } from './plugin-bundle.generated';

/** The URL that never changes content: safe to cache for a year. */
export const VERSIONED_PLUGIN_PATH = `/rx.${PLUGIN_HASH}.js`;

const COMMON_HEADERS = {
  'content-type': 'text/javascript; charset=utf-8',
  'x-content-type-options': 'nosniff',
  // Public code: any shop may load it as a module or with Subresource Integrity (`crossorigin`).
  'access-control-allow-origin': '*',
  etag: `"${PLUGIN_HASH}"`,
} as const;

/**
 * The storefront plugin (DESIGN.md "HTTP API": `GET /rx.js`).
 * - `/rx.js`, the URL shops paste, is cached briefly (5 min, then revalidated by ETag in the
 *   background for a day) so a deploy reaches every shop within minutes;
 * - `/rx.<hash>.js` is immutable and cached for a year;
 * - an outdated `/rx.<hash>.js` redirects to the current one rather than breaking the shop
 *   (`outdatedPluginRedirect`, from the app's not-found handler).
 *
 * Both are static routes. A pattern route at the root (`/:file{...}`) next to the proxy's `*` is one
 * Hono's RegExpRouter cannot take, and a single such route makes the whole app fall back to the
 * TrieRouter, several times the routing CPU on every request, proxied pages included.
 */
export const plugin = new Hono<AppEnv>()
  .get('/rx.js', (c) => servePlugin(c, false))
  .get(VERSIONED_PLUGIN_PATH, (c) => servePlugin(c, true));

const OUTDATED_PLUGIN_PATH = /^\/rx\.[0-9a-f]{12}\.js$/;

/**
 * A redirect to the current plugin for an `/rx.<hash>.js` of an earlier deploy; else undefined. It
 * carries the CORS header too: a module script or a `crossorigin` tag is fetched in CORS mode, where
 * the browser checks each redirect for it, and would otherwise load nothing.
 */
export function outdatedPluginRedirect(c: Context<AppEnv>): Response | undefined {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return undefined;
  if (!OUTDATED_PLUGIN_PATH.test(c.req.path)) return undefined;
  c.header('access-control-allow-origin', COMMON_HEADERS['access-control-allow-origin']);
  return c.redirect(VERSIONED_PLUGIN_PATH, 302);
}

function servePlugin(c: Context<AppEnv>, versioned: boolean): Response {
  const headers = {
    ...COMMON_HEADERS,
    'cache-control': versioned
      ? 'public, max-age=31536000, immutable'
      : 'public, max-age=300, stale-while-revalidate=86400',
    link: `<${VERSIONED_PLUGIN_PATH}>; rel="canonical"`,
  };
  if (matchesCurrentPlugin(c.req.header('if-none-match'))) return c.body(null, 304, headers);
  return c.body(PLUGIN_JS, 200, headers);
}

/** If-None-Match compared weakly (RFC 9110 13.1.2): our tag, weak or strong, or `*` (any current one). */
function matchesCurrentPlugin(ifNoneMatch: string | undefined): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === COMMON_HEADERS.etag);
}
