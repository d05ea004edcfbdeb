/**
 * Which content codings the proxy asks the origin for. A page it may rewrite must come back in a coding
 * the runtime decodes (gzip, br, none); everything else is fetched as the shopper asked. The test
 * origin's `/negotiated-page` prefers zstd, as Caddy does, and says what it was offered (`x-origin-saw`).
 */
import { describe, expect, it } from 'vitest';
import { BROWSER_UA, browserHeaders, proxied } from './proxy-helpers';

/** What Chrome 123+ sends (Firefox 126+ the same without `deflate`'s position mattering). */
const CHROME_ACCEPT_ENCODING = 'gzip, deflate, br, zstd';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

async function page(acceptEncoding: string, headers: Record<string, string> = {}) {
  return proxied('/negotiated-page', {
    headers: browserHeaders({ 'accept-encoding': acceptEncoding, ...headers }),
  });
}

describe('proxy: Accept-Encoding toward the origin', () => {
  it("a shopper's page is asked for in gzip or br only, so a zstd-preferring origin's page is still personalized", async () => {
    const { response, body, events } = await page(CHROME_ACCEPT_ENCODING);
    expect(response.status).toBe(200);
    // Rewritten: the plugin's tag went in and the page view was sent (a zstd page passed through bare).
    expect(body).toContain('<script src="https://shop.example/rx.js"');
    expect(body).toContain('<p id="last">end</p>');
    expect(events).toHaveLength(1);
    expect(response.headers.get('x-origin-saw')).toBe('gzip, br');
  });

  it("keeps the shopper's order and q-values, and asks for identity when neither gzip nor br is acceptable", async () => {
    expect((await page('br;q=1.0, zstd, GZIP;q=0.5')).response.headers.get('x-origin-saw')).toBe(
      'br;q=1.0, gzip;q=0.5',
    );
    // An absent header would accept any coding (RFC 9110 12.5.3), zstd included: identity says none.
    expect((await page('zstd')).response.headers.get('x-origin-saw')).toBe('identity');
    expect((await page('gzip;q=0, zstd, deflate')).response.headers.get('x-origin-saw')).toBe('identity');
  });

  it("everything that is not a page it may rewrite is fetched with the shopper's own Accept-Encoding", async () => {
    const asset = await proxied('/negotiated-page', {
      headers: {
        'user-agent': BROWSER_UA,
        accept: 'image/avif,*/*;q=0.8',
        'accept-encoding': CHROME_ACCEPT_ENCODING,
      },
    });
    expect(asset.response.headers.get('x-origin-saw')).toBe(CHROME_ACCEPT_ENCODING);
    const ranged = await page(CHROME_ACCEPT_ENCODING, { range: 'bytes=0-9' });
    expect(ranged.response.headers.get('x-origin-saw')).toBe(CHROME_ACCEPT_ENCODING);
    const crawler = await page(CHROME_ACCEPT_ENCODING, { 'user-agent': GOOGLEBOT });
    expect(crawler.response.headers.get('x-origin-saw')).toBe(CHROME_ACCEPT_ENCODING);
    const post = await proxied('/negotiated-page', {
      method: 'POST',
      body: 'q=1',
      headers: browserHeaders({ 'accept-encoding': CHROME_ACCEPT_ENCODING }),
    });
    expect(post.response.headers.get('x-origin-saw')).toBe(CHROME_ACCEPT_ENCODING);
  });
});
