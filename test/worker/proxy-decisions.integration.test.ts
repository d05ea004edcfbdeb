/**
 * Decisions of the proxy that the broader proxy tests pass through without pinning (found by mutating
 * each one: the suite stayed green). Each case fails if its decision goes.
 */
import { describe, expect, it } from 'vitest';
import type { PersonalizationSource } from '../../worker/src/proxy';
import { BROWSER_UA, proxied, raw } from './proxy-helpers';
import { productById, testSource } from './proxy-test-source';

const PAGE = '<!doctype html><html><head><title>Mine</title></head><body><p>x</p></body></html>';

// A tracked shopper's page is theirs alone (proxy.ts TRACKED_PAGE_CACHING): every header that would let a
// cache keep it, or revalidate it against the origin's copy, is gone, name by name.
describe("proxy: a tracked shopper's page", () => {
  it('keeps no caching header of the origin but its no-store: no Expires, validators or CDN instructions', async () => {
    const page = raw(PAGE, [
      'content-type: text/html; charset=utf-8',
      'cache-control: public, max-age=600',
      'expires: Thu, 01 Jan 2099 00:00:00 GMT',
      'last-modified: Tue, 01 Dec 2026 00:00:00 GMT',
      'etag: "v1"',
      'cdn-cache-control: max-age=600',
      'cloudflare-cdn-cache-control: max-age=600',
      'surrogate-control: max-age=600',
    ]);
    const { response, body } = await proxied(page, {}, { deps: { source: () => testSource() } });
    expect(body).toContain('/rx.js');
    expect(response.headers.get('cache-control')).toBe('private');
    for (const name of [
      'expires',
      'last-modified',
      'etag',
      'cdn-cache-control',
      'cloudflare-cdn-cache-control',
      'surrogate-control',
    ]) {
      expect(response.headers.get(name), name).toBeNull();
    }
  });

  it("never passes the browser's validators on: a 304 would stand for a page this shopper was not sent", async () => {
    const validators = {
      'if-none-match': '"v1"',
      'if-modified-since': 'Tue, 01 Dec 2026 00:00:00 GMT',
      'if-match': '"v1"',
      'if-unmodified-since': 'Tue, 01 Dec 2026 00:00:00 GMT',
      'if-range': '"v1"',
    };
    const { body } = await proxied('/echo', {
      headers: { 'user-agent': BROWSER_UA, accept: 'text/html', ...validators },
    });
    const echo = JSON.parse(body) as { headers: Record<string, string> };
    for (const name of Object.keys(validators)) expect(echo.headers[name], name).toBeUndefined();
    // A crawler is no tracked shopper: its validators reach the origin as sent.
    const crawler = await proxied('/echo', {
      headers: { 'user-agent': 'Googlebot/2.1', accept: 'text/html', ...validators },
    });
    const crawlerEcho = JSON.parse(crawler.body) as { headers: Record<string, string> };
    expect(crawlerEcho.headers['if-range']).toBe('"v1"');
  });
});

describe('proxy: prices a page prints', () => {
  const base = productById('85123A').price.toFixed(2);
  const pricePage = (markup: string) =>
    raw(`<!doctype html><html><head><title>P</title></head><body>${markup}</body></html>`, [
      'content-type: text/html; charset=utf-8',
    ]);
  const env = { RX_PRICE_DISCLOSURE: 'Price personalised for you' };

  it('leaves a struck-through price (<del>, <s>, <strike>) as the shop printed it: not what the product costs', async () => {
    const struck = ['del', 's', 'strike'].map(
      (tag) => `<${tag} data-rx-price data-rx-product-id="85123A">£${base}</${tag}>`,
    );
    const { body } = await proxied(
      pricePage(struck.join('')),
      {},
      { deps: { source: () => testSource({ priceFactor: 0.5 }) }, env },
    );
    for (const tag of struck) expect(body).toContain(tag);
    expect(body).not.toContain('<small class="rx-price-note">');
  });

  it('writes no disclosure for a personalized quote that is the base price: nothing was changed', async () => {
    const samePrice = (): PersonalizationSource => {
      const source = testSource();
      return {
        recommend: (query) => source.recommend(query),
        prices: async (ids) => (await source.prices(ids)).map((quote) => ({ ...quote, personalized: true })),
      };
    };
    const { body } = await proxied(
      pricePage(`<span data-rx-price data-rx-product-id="85123A">£${base}</span>`),
      {},
      { deps: { source: samePrice }, env },
    );
    expect(body).toContain(`<span data-rx-price data-rx-product-id="85123A">£${base}</span>`);
    expect(body).not.toContain('<small class="rx-price-note">');
  });
});

describe('proxy: markup inserted into a page in another charset than UTF-8', () => {
  it('is ASCII, every other character a reference, so it reads the same in that charset', async () => {
    const page = raw(
      '<!doctype html><html><head><title>P</title></head><body><div data-rx-slot data-rx-placement="home"></div></body></html>',
      ['content-type: text/html; charset=windows-1252'],
    );
    const { response, body } = await proxied(page, {}, { deps: { source: () => testSource() } });
    expect(body).toContain('<section class="rx-block');
    // The block's prices are in pounds: `£` written as a reference, never as a byte of some charset.
    expect(body).toContain('&#xa3;');
    expect(body).not.toContain('\ufffd');
    expect(response.headers.get('content-type')).toContain('windows-1252');
  });
});

describe("proxy: an untracked shopper's page (RX_CONSENT=required, no consent yet)", () => {
  it("keeps the origin's weak ETag as it is: weakened once more it is no validator the origin knows", async () => {
    const page = raw(PAGE, ['content-type: text/html; charset=utf-8', 'etag: W/"v1"']);
    const { response, body } = await proxied(page, {}, { env: { RX_CONSENT: 'required' } });
    expect(body).toContain('/rx.js');
    expect(response.headers.get('etag')).toBe('W/"v1"');
  });
});
