/**
 * Whether a cache shared between shoppers (a CDN in front of the worker, a corporate proxy) may keep a
 * page and hand it to others, and making a page the browser's alone (RFC 9111 §3, §5.2.2).
 */

/** Caching headers meant for CDNs rather than browsers; a page for one shopper must not carry them. */
export const CDN_CACHE_HEADERS = ['cdn-cache-control', 'cloudflare-cdn-cache-control', 'surrogate-control'];

/** Shared caches only: meaningless once the page is `private`. */
const SHARED_ONLY = new Set(['public', 'private', 's-maxage', 'proxy-revalidate']);

interface CacheDirective {
  /** Lower case. */
  name: string;
  /** As the origin wrote it, for writing back unchanged. */
  text: string;
  /** Whether it has an argument (`private="set-cookie"` is qualified; plain `private` is not). */
  qualified: boolean;
}

/** A Cache-Control value's directives; a quoted argument may hold commas (`no-cache="a, b"`). */
function directives(value: string | null): CacheDirective[] {
  const found: CacheDirective[] = [];
  for (const match of (value ?? '').matchAll(/([^=,\s]+)\s*(=\s*(?:"(?:[^"\\]|\\.)*"|[^,]*))?/g)) {
    const [text = '', name = '', argument] = match;
    found.push({ name: name.toLowerCase(), text: text.trim(), qualified: argument !== undefined });
  }
  return found;
}

/** `no-store`, or `private` without field names: no shared cache keeps the page. */
function browserOnly(value: string | null): boolean {
  return directives(value).some(
    ({ name, qualified }) => name === 'no-store' || (name === 'private' && !qualified),
  );
}

/**
 * Whether a shared cache may store this answer: unless `Cache-Control` keeps it for the browser, and no
 * CDN header (which such a cache reads instead: `CDN-Cache-Control` wins over `Cache-Control` at
 * Cloudflare) says otherwise. A page without caching headers counts as storable: a 200 is
 * heuristically cacheable (RFC 9111 §4.2.2).
 */
export function sharedCacheMayStore(headers: Headers): boolean {
  if (!browserOnly(headers.get('cache-control'))) return true;
  return CDN_CACHE_HEADERS.some((name) => {
    const value = headers.get(name);
    return value !== null && !browserOnly(value);
  });
}

/**
 * Makes the page the browser's alone and keeps what the origin told browsers: `private` replaces
 * `public` (and a `private` naming fields), `s-maxage` and `proxy-revalidate` go (shared caches only),
 * every other directive (`max-age`, `no-cache`, `must-revalidate`, `stale-while-revalidate`, `no-store`)
 * stays as written, as do `Expires` and the validators; the CDN headers go.
 */
export function keepFromSharedCaches(headers: Headers): void {
  const kept = directives(headers.get('cache-control')).filter(({ name }) => !SHARED_ONLY.has(name));
  headers.set('cache-control', ['private', ...kept.map(({ text }) => text)].join(', '));
  for (const name of CDN_CACHE_HEADERS) headers.delete(name);
}
