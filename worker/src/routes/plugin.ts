import { Hono } from 'hono';
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
 * - an outdated `/rx.<hash>.js` redirects to the current one rather than breaking the shop.
 */
export const plugin = new Hono<AppEnv>().get('/:file{rx(?:\\.[0-9a-f]{12})?\\.js}', (c) => {
  const file = c.req.param('file');
  const versioned = file !== 'rx.js';
  if (versioned && `/${file}` !== VERSIONED_PLUGIN_PATH) {
    return c.redirect(VERSIONED_PLUGIN_PATH, 302);
  }
  const headers = {
    ...COMMON_HEADERS,
    'cache-control': versioned
      ? 'public, max-age=31536000, immutable'
      : 'public, max-age=300, stale-while-revalidate=86400',
    link: `<${VERSIONED_PLUGIN_PATH}>; rel="canonical"`,
  };
  const match = c.req.header('if-none-match');
  if (match?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === COMMON_HEADERS.etag)) {
    return c.body(null, 304, headers);
  }
  return c.body(PLUGIN_JS, 200, headers);
});
