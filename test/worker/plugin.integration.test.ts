import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { PLUGIN_HASH, PLUGIN_JS } from '../../worker/src/routes/plugin-bundle.generated';

const base = 'http://worker.test';

describe('GET /rx.js (the storefront plugin)', () => {
  it('serves the built plugin with a short, revalidated cache', async () => {
    const response = await SELF.fetch(`${base}/rx.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=300, stale-while-revalidate=86400');
    expect(response.headers.get('etag')).toBe(`"${PLUGIN_HASH}"`);
    expect(response.headers.get('link')).toBe(`</rx.${PLUGIN_HASH}.js>; rel="canonical"`);
    const body = await response.text();
    expect(body).toBe(PLUGIN_JS);
    // It is the IIFE that installs window.rx, not some placeholder.
    expect(body).toMatch(/window/);
    expect(body.length).toBeGreaterThan(1000);
  });

  it('serves the versioned URL as immutable for a year', async () => {
    const response = await SELF.fetch(`${base}/rx.${PLUGIN_HASH}.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await response.text()).toBe(PLUGIN_JS);
  });

  it('redirects an outdated version to the current one', async () => {
    const stale = PLUGIN_HASH === '000000000000' ? '111111111111' : '000000000000';
    const response = await SELF.fetch(`${base}/rx.${stale}.js`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location') ?? '', base).pathname).toBe(`/rx.${PLUGIN_HASH}.js`);
    // A module script or a `crossorigin` tag is fetched in CORS mode, where the browser checks the
    // redirect itself for the header (Fetch, "HTTP fetch"): without it the shop's old tag loads nothing.
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const response = await SELF.fetch(`${base}/rx.js`, {
      headers: { 'if-none-match': `W/"${PLUGIN_HASH}"` },
    });
    expect(response.status).toBe(304);
    expect(await response.text()).toBe('');
  });

  it('answers 304 to If-None-Match: * (any current representation matches, RFC 9110 13.1.2) and 200 to other tags', async () => {
    const any = await SELF.fetch(`${base}/rx.js`, { headers: { 'if-none-match': '*' } });
    expect(any.status).toBe(304);
    expect(any.headers.get('etag')).toBe(`"${PLUGIN_HASH}"`);
    await any.text();
    const other = await SELF.fetch(`${base}/rx.js`, { headers: { 'if-none-match': 'W/"x", "y"' } });
    expect(other.status).toBe(200);
    await other.text();
  });

  it('does not serve look-alike paths', async () => {
    const response = await SELF.fetch(`${base}/rx.not-a-hash.js`);
    expect(response.status).toBe(404);
  });
});
