/**
 * Which pages a shared cache may keep, making one the browser's alone (worker/src/proxy/shared-cache.ts),
 * and the CSP decision for such a page (csp.ts SharedCopy).
 */
import { describe, expect, it } from 'vitest';
import { RX_DEFAULT_STYLES } from '../../contracts/markup-styles';
import { defaultStylesHash, PageCsp } from '../../worker/src/proxy/csp';
import { keepFromSharedCaches, sharedCacheMayStore } from '../../worker/src/proxy/shared-cache';

const PAGE = new URL('https://shop.example/products/85123A');
const SHARED = { styleHash: "'sha256-STYLE'" };

describe('a page a shared cache may keep', () => {
  it('is any page not kept from it by no-store or an unqualified private, or by every CDN header', () => {
    const may = (headers: Record<string, string>) => sharedCacheMayStore(new Headers(headers));
    expect(may({})).toBe(true); // heuristically cacheable
    expect(may({ 'cache-control': 'public, max-age=600' })).toBe(true);
    expect(may({ 'cache-control': 'no-cache' })).toBe(true); // stored, revalidated, then served again
    expect(may({ 'cache-control': 'max-age=60, private="set-cookie, x-user"' })).toBe(true);
    expect(may({ 'cache-control': 'max-age=60, Private' })).toBe(false);
    expect(may({ 'cache-control': 'NO-STORE' })).toBe(false);
    expect(may({ 'cache-control': 'private', 'cdn-cache-control': 'max-age=600' })).toBe(true);
    expect(may({ 'cache-control': 'private', 'surrogate-control': 'no-store' })).toBe(false);
  });

  it("is made the browser's alone with the origin's browser directives kept as written", () => {
    const made = (cacheControl: string | null, extra: Record<string, string> = {}) => {
      const headers = new Headers(extra);
      if (cacheControl !== null) headers.set('cache-control', cacheControl);
      keepFromSharedCaches(headers);
      return headers;
    };
    expect(made('public, max-age=600, s-maxage=3600, proxy-revalidate').get('cache-control')).toBe(
      'private, max-age=600',
    );
    expect(made('max-age=60, private="set-cookie, x", no-cache="a, b"').get('cache-control')).toBe(
      'private, max-age=60, no-cache="a, b"',
    );
    expect(made('no-store').get('cache-control')).toBe('private, no-store');
    const bare = made(null, {
      expires: 'Tue, 01 Dec 2026 10:00:00 GMT',
      'cdn-cache-control': 'max-age=600',
      'cloudflare-cdn-cache-control': 'max-age=600',
      'surrogate-control': 'max-age=600',
      etag: 'W/"x"',
    });
    expect([...bare]).toEqual([
      ['cache-control', 'private'],
      ['etag', 'W/"x"'],
      ['expires', 'Tue, 01 Dec 2026 10:00:00 GMT'],
    ]);
  });
});

describe('the CSP decision for a page a shared cache may keep', () => {
  it("hashes the stylesheet's text, which is ASCII so every charset writes it the same", async () => {
    expect(RX_DEFAULT_STYLES).toMatch(/^[\x20-\x7e]+$/);
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(RX_DEFAULT_STYLES));
    expect(await defaultStylesHash()).toBe(
      `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`,
    );
  });

  it("reuses the nonce every directive needing one names, the shop's, and adds no nonce of ours", () => {
    const csp = new PageCsp(PAGE, ['script', 'style'], SHARED);
    const text = "script-src 'nonce-a' 'nonce-b' 'strict-dynamic', default-src 'nonce-b'";
    expect(csp.apply(text, 'header')).toBe(
      "script-src 'nonce-a' 'nonce-b' 'strict-dynamic', default-src 'nonce-b' 'sha256-STYLE'",
    );
    expect(csp.nonce).toBe('b');
    expect(csp.styleNonce).toBeUndefined();
    expect(csp.needsPrivateCopy).toBe(false);
    // A later <meta> naming the same nonce needs nothing; one that does not keeps the script out.
    expect(csp.apply("script-src 'NONCE-b'", 'meta')).toBeUndefined();
    expect(csp.refusal('script')).toBeUndefined();
    expect(csp.apply("script-src 'nonce-c'", 'meta')).toBeUndefined();
    expect(csp.refusal('script')?.directive).toBe('script-src');
  });

  it('does not take a nonce source that could not be written into a nonce attribute', () => {
    const csp = new PageCsp(PAGE, ['script'], SHARED);
    const extended = csp.apply(`script-src 'nonce-a"b' 'strict-dynamic'`, 'header');
    expect(csp.nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(extended).toBe(`script-src 'nonce-a"b' 'strict-dynamic' 'nonce-${csp.nonce}'`);
    expect(csp.needsPrivateCopy).toBe(true);
  });

  it('in a header mints a fresh nonce and asks for a private copy; in a <meta> refuses instead', () => {
    const header = new PageCsp(PAGE, ['script', 'style'], SHARED);
    header.apply("default-src 'self' 'sha256-x' 'strict-dynamic'", 'header');
    expect(header.needsPrivateCopy).toBe(true);
    expect(header.refusal('script')).toBeUndefined();
    // Once private, a <meta> gets that nonce as on any private page.
    expect(header.apply("script-src 'sha256-y'", 'meta')).toBe(
      `script-src 'sha256-y' 'nonce-${header.nonce}'`,
    );

    const meta = new PageCsp(PAGE, ['script', 'style'], SHARED);
    expect(meta.apply("default-src 'self' 'sha256-x' 'strict-dynamic'", 'meta')).toBe(
      "default-src 'self' 'sha256-x' 'strict-dynamic' 'sha256-STYLE'",
    );
    expect(meta.nonce).toBeUndefined();
    expect(meta.needsPrivateCopy).toBe(false);
    expect(meta.refusal('script')?.reason).toMatch(/same for every shopper a shared cache serves/);
    expect(meta.refusal('style')).toBeUndefined();
  });

  it('leaves a private page as before: one fresh nonce for both tags', () => {
    const csp = new PageCsp(PAGE, ['script', 'style']);
    expect(csp.apply("default-src 'sha256-x'", 'header')).toBe(`default-src 'sha256-x' 'nonce-${csp.nonce}'`);
    expect(csp.styleNonce).toBe(csp.nonce);
    expect(csp.needsPrivateCopy).toBe(false);
  });
});
