/**
 * Path parameters (`;jsessionid=…`, which SAP Commerce/Hybris and other Java shops put into their URLs
 * on a shopper's first visit) are no part of the page: `/products/85123A;jsessionid=9F1C…` is product
 * 85123A. They were taken into the product id, so the shopper's session id was stored with the
 * page-view event (properties.product_id, context.page.path and url), written into the page for the
 * plugin (`data-rx-product-id`), and asked for as a product. The origin still gets the URL as it was:
 * the session is the shop's.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isExcludedPath } from '../../worker/src/proxy/config';
import { pageContextFromUrl } from '../../worker/src/proxy/page-context';
import { withoutPathParameters } from '../../worker/src/proxy/path-parameters';
import { proxied } from './proxy-helpers';
import { testSource } from './proxy-test-source';

const ORIGIN_HOST = 'origin.path-parameters.test';
const SESSION = '9F1C2B7A0E4D5C6B8A9F0E1D2C3B4A59';
const SHOPPER = {
  cookie: 'rx_uid=0b3c3f4e-1111-4222-8333-944455556666',
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  accept: 'text/html',
};

/** The paths the origin was asked for, as sent. */
const asked: string[] = [];
const realFetch = globalThis.fetch;
beforeEach(() => {
  asked.length = 0;
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname !== ORIGIN_HOST) return realFetch(input, init);
    asked.push(url.pathname);
    return new Response(
      '<!doctype html><html><head><title>Shop</title></head><body><main><div data-rx-slot></div></main></body></html>',
      { headers: { 'content-type': 'text/html; charset=utf-8' } },
    );
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

describe('proxy: path parameters', () => {
  for (const [arm, holdout] of [
    ['holdout', '100'],
    ['treatment', '0'],
  ] as const) {
    it(`/products/85123A;jsessionid=… is product 85123A; the session id is in neither the event nor the page (${arm})`, async () => {
      const source = testSource();
      const { body, events } = await proxied(
        `/products/85123A;jsessionid=${SESSION}`,
        { headers: SHOPPER },
        {
          deps: { source: () => source },
          env: { ORIGIN_URL: `https://${ORIGIN_HOST}`, HOLDOUT_PERCENT: holdout },
        },
      );
      expect(asked).toEqual([`/products/85123A;jsessionid=${SESSION}`]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'track',
        event: 'Product Viewed',
        properties: { product_id: '85123A' },
        context: { page: { path: '/products/85123A', url: 'https://shop.example/products/85123A' } },
      });
      expect(JSON.stringify(events)).not.toMatch(/jsessionid|9F1C2B7A/i);
      expect(body).not.toMatch(/jsessionid|9F1C2B7A/i);
      if (arm === 'holdout') {
        // Handed over to the plugin, which asks the API for this product.
        expect(body).toMatch(/<div data-rx-slot[^>]* data-rx-product-id="85123A"/);
      } else {
        // Filled by the worker, with the product's recommendations.
        expect(source.queries.map((query) => query.productId)).toEqual(['85123A']);
        expect(body).toContain('rx-placement-product');
      }
    });
  }

  it('a page that is not a product: its path and URL without the parameters of any segment', async () => {
    const { events } = await proxied(
      `/de;lang=x/about;jsessionid=${SESSION}`,
      { headers: SHOPPER },
      {
        deps: { source: () => testSource() },
        env: { ORIGIN_URL: `https://${ORIGIN_HOST}`, HOLDOUT_PERCENT: '100' },
      },
    );
    expect(events[0]).toMatchObject({
      type: 'page',
      properties: { path: '/de/about' },
      context: { page: { path: '/de/about', url: 'https://shop.example/de/about' } },
    });
    expect(JSON.stringify(events)).not.toMatch(/jsessionid|lang=x/);
  });

  it('drops `;…` per segment, keeps an escaped %3B, and routes excluded paths the same way', () => {
    expect(withoutPathParameters('/products/85123A;jsessionid=X')).toBe('/products/85123A');
    expect(withoutPathParameters('/a;x=1/b;y/c')).toBe('/a/b/c');
    expect(withoutPathParameters('/products/85%3B12')).toBe('/products/85%3B12');
    const at = (path: string) => pageContextFromUrl(new URL(path, 'https://shop.example'));
    expect(at('/products/85123A;jsessionid=X')).toEqual({ placement: 'product', productId: '85123A' });
    expect(at('/p/85123A;jsessionid=X/')).toEqual({ placement: 'product', productId: '85123A' });
    expect(at('/products/85%3B12')).toEqual({ placement: 'product', productId: '85;12' });
    expect(at('/collections/mugs;jsessionid=X')).toEqual({ placement: 'category', category: 'mugs' });
    expect(at('/cart;jsessionid=X')).toEqual({ placement: 'cart' });
    expect(at('/products/;jsessionid=X')).toEqual({ placement: 'home' });
    expect(isExcludedPath('/checkout;jsessionid=X/pay', ['/checkout'])).toBe(true);
    expect(isExcludedPath('/Checkout%3Bx/pay', ['/checkout'])).toBe(true);
  });
});
