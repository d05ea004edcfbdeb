/**
 * The page-view event the proxy sends for a tracked shopper's page, in workerd: in both arms alike,
 * and about the product the page's markup names when its URL names none (the plugin, told the page
 * view was sent, does not send that product view itself).
 */
import { describe, expect, it } from 'vitest';
import { proxied, raw } from './proxy-helpers';
import { testSource } from './proxy-test-source';

const HTML = ['content-type: text/html; charset=utf-8'];
const SHOPPER = {
  cookie: 'rx_uid=0b3c3f4e-1111-4222-8333-944455556666',
  'user-agent': 'Mozilla/5.0 Chrome/126.0',
};

const page = (body: string) =>
  `<!doctype html><html><head><title>P</title></head><body>${body}</body></html>`;

describe('proxy: page views', () => {
  for (const [arm, holdout] of [
    ['treatment', '0'],
    ['holdout', '100'],
  ] as const) {
    it(`a page whose URL names no product is a Product Viewed of the product its markup marks (${arm})`, async () => {
      const { events } = await proxied(
        raw(
          page(
            '<template><main data-rx-view data-rx-product-id="INERT"></main></template>' +
              '<main data-rx-view data-rx-product-id="85123&amp;A"><h1>Heart</h1></main>',
          ),
          HTML,
        ),
        { headers: SHOPPER },
        { deps: { source: () => testSource() }, env: { HOLDOUT_PERCENT: holdout } },
      );
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'track',
        event: 'Product Viewed',
        properties: { product_id: '85123&A' },
        context: { source: 'rx-proxy' },
      });
    });
  }

  it('a product slot names the product when nothing is marked with data-rx-view; none at all is a page call', async () => {
    const slot = await proxied(
      raw(page('<div data-rx-slot data-rx-placement="product" data-rx-product-id="22423"></div>'), HTML),
      { headers: SHOPPER },
      { deps: { source: () => testSource() } },
    );
    expect(slot.events[0]).toMatchObject({ event: 'Product Viewed', properties: { product_id: '22423' } });
    // As the plugin reads it: the first data-rx-view element decides, an empty id meaning none.
    const empty = await proxied(
      raw(
        page(
          '<main data-rx-view data-rx-product-id=""></main>' +
            '<div data-rx-slot data-rx-placement="product" data-rx-product-id="22423"></div>',
        ),
        HTML,
      ),
      { headers: SHOPPER },
      { deps: { source: () => testSource() } },
    );
    expect(empty.events[0]).toMatchObject({ type: 'page', name: 'home' });
    const plain = await proxied(
      raw(page('<p>About us</p>'), HTML),
      { headers: SHOPPER },
      {
        deps: { source: () => testSource() },
      },
    );
    expect(plain.events[0]).toMatchObject({ type: 'page', name: 'home' });
    expect(plain.events[0]).not.toHaveProperty('event');
  });

  it("a client over the shopper rate limit still gets its page, but that page's view is not sent", async () => {
    const keys: string[] = [];
    const limiter = (success: boolean): RateLimit => ({
      limit: async ({ key }) => {
        keys.push(key);
        return { success };
      },
    });
    const product = raw(page('<main data-rx-view data-rx-product-id="22423"><h1>Plate</h1></main>'), HTML);
    const headers = { ...SHOPPER, 'cf-connecting-ip': '203.0.113.77' };
    const over = await proxied(
      product,
      { headers },
      { deps: { source: () => testSource() }, env: { RATE_LIMITER: limiter(false) } },
    );
    expect(over.response.status).toBe(200);
    expect(over.body).toContain('<h1>Plate</h1>');
    expect(over.events).toEqual([]);
    const within = await proxied(
      product,
      { headers },
      { deps: { source: () => testSource() }, env: { RATE_LIMITER: limiter(true) } },
    );
    expect(within.events).toHaveLength(1);
    expect(within.events[0]).toMatchObject({ event: 'Product Viewed', properties: { product_id: '22423' } });
    // Counted by the client's key, as the API's requests are.
    expect(new Set(keys).size).toBe(1);
  });
});
