import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, inject, it, vi } from 'vitest';
import { type RxEvent, validateEvent } from '../../contracts/events';
import type { AppEnv } from '../../worker/src/app-env';
import type { Env } from '../../worker/src/env';
import { OutboxRefusedError } from '../../worker/src/events/outbox';
import { defaultBundleFiles } from '../../worker/src/models/default-bundle.generated';
import { proxyHandler } from '../../worker/src/proxy';
import { PageSession, PREFETCH_LIMIT } from '../../worker/src/proxy/page-session';
import { browserHeaders, direct, PUBLIC, proxied, raw, testEnv, viaWorker } from './proxy-helpers';
import { count, withoutInsertions } from './proxy-insertions';
import { productById, testSource } from './proxy-test-source';

const DEMO_PRODUCT = '/fixtures/demo-product.html';

/** Shopify Dawn's product page (no data-rx markup) through the proxy at half price, with `env`'s settings. */
function dawnAtHalfPrice(env: Partial<Env>) {
  return proxied(
    '/fixtures/shopify-dawn-product.html',
    {},
    { deps: { source: () => testSource({ priceFactor: 0.5 }) }, env },
  );
}

/** The Dawn page as RX_SLOTS and the selectors place it: the price halved, a 3-item block after the heading. */
function expectDawnPersonalized(body: string): void {
  const half = Math.round(productById('85123A').price * 50) / 100;
  // Marked for the plugin, which puts the checkout token on `[data-rx-price][data-rx-product-id]`.
  expect(body).toContain(
    `<span class="price-item price-item--regular" data-rx-price="" data-rx-product-id="85123A">£${half.toFixed(2)} GBP</span>`,
  );
  expect(body).toMatch(
    /<h2 class="product-recommendations__heading">You may also like<\/h2><section class="rx-block/,
  );
  expect(count(body, 'class="rx-item"')).toBe(3);
}

/** The demo product page through the proxy at 85% with RX_PRICE_SELECTOR `selector`: its own price rewritten. */
async function expectDemoPriceRewritten(selector: string): Promise<void> {
  const personal = (Math.round(productById('85123A').price * 85) / 100).toFixed(2);
  const { body } = await proxied(
    DEMO_PRODUCT,
    {},
    { deps: { source: () => testSource({ priceFactor: 0.85 }) }, env: { RX_PRICE_SELECTOR: selector } },
  );
  expect(body).toContain(`<span class="price" data-rx-price data-rx-product-id="85123A">£${personal}</span>`);
}

describe('proxy: personalized pages', () => {
  it('fills the slot, injects styles and the plugin once, and changes nothing else', async () => {
    const source = testSource();
    const { response, body, events } = await proxied(DEMO_PRODUCT, {}, { deps: { source: () => source } });
    const original = await direct(DEMO_PRODUCT);

    expect(response.status).toBe(200);
    expect(count(body, '<section class="rx-block rx-placement-product"')).toBe(1);
    expect(count(body, 'class="rx-item"')).toBe(4);
    expect(body).not.toContain('data-rx-product-id="85123A" data-rx-recommendation-id'); // the viewed product is excluded
    expect(body).toContain('data-rx-filled="rec-test-1"');
    expect(
      count(body, '<script src="https://shop.example/rx.js" async data-rx-page-view="sent"></script>'),
    ).toBe(1);
    expect(count(body, '<style data-rx-styles>')).toBe(1);
    expect(body.indexOf('<style data-rx-styles>')).toBeLessThan(body.indexOf('</head>'));
    expect(withoutInsertions(body)).toBe(original.body);
    // One fetch for the page's slot (the URL says nothing, the slot says product 85123A) and none repeated.
    expect(source.recommendCalls).toBeLessThanOrEqual(2);
    expect(events).toHaveLength(1);
  });

  it('fetches the recommendations once, started from the URL before the origin answers', async () => {
    const source = testSource();
    const shop = inject('demoShopUrl');
    const { body } = await proxied(
      '/products/85123A',
      {},
      { deps: { source: () => source }, env: { ORIGIN_URL: shop } },
    );
    expect(count(body, 'class="rx-item"')).toBe(4);
    expect(source.recommendCalls).toBe(1);
    // The page's product is priced up front; the prefetched items in one batch as soon as they arrive
    // (unsigned prices cost no I/O), so the slot finds its prices settled and fills without waiting.
    expect(source.priceCalls[0]).toEqual(['85123A']);
    expect(source.priceCalls.slice(1)).toHaveLength(1);
    expect(source.priceCalls[1]).toHaveLength(PREFETCH_LIMIT);
  });

  it("sends the page's head before its slots are filled, and counts as in progress until the page's end", async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const source = testSource({ gate });
    // A cold isolate creates its model sessions (one long synchronous block) only when no request is in
    // progress: a page must count until its last byte, not until the handler returns its Response.
    const holds = { taken: 0, released: 0 };
    const requestInProgress = () => {
      holds.taken += 1;
      return () => {
        holds.released += 1;
      };
    };
    const app = new Hono<AppEnv>().all(
      '*',
      proxyHandler({ source: () => source, sendEvents: async () => {}, requestInProgress }),
    );
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(`${PUBLIC}${DEMO_PRODUCT}`, { headers: browserHeaders() }),
      // Far beyond the wait below: the slot must not be given up on (and the page sent) while the
      // test itself still holds the recommendations back.
      testEnv({ PERSONALIZATION_BUDGET_MS: '60000' }),
      ctx,
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let early = '';
    // Everything the shopper can have while the recommendations are still on their way (held back
    // by the gate until the head is here, so a generous wait costs nothing when the head streams).
    let stallTimer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<'stalled'>((resolve) => {
      stallTimer = setTimeout(() => resolve('stalled'), 10_000);
    });
    while (!early.includes('</head>')) {
      const next = await Promise.race([reader.read(), stalled]);
      if (next === 'stalled' || next.done) break;
      early += decoder.decode(next.value, { stream: true });
    }
    if (stallTimer !== undefined) clearTimeout(stallTimer);
    expect(early).toContain(
      '<script src="https://shop.example/rx.js" async data-rx-page-view="sent"></script>',
    );
    expect(early).toContain('</head>');
    expect(early).not.toContain('<section class="rx-block');
    expect(holds).toEqual({ taken: 1, released: 0 });

    open();
    let rest = '';
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      rest += decoder.decode(next.value, { stream: true });
    }
    await waitOnExecutionContext(ctx);
    expect(holds).toEqual({ taken: 1, released: 1 });
    const body = early + rest;
    expect(count(body, 'class="rx-item"')).toBe(4);
    expect(withoutInsertions(body)).toBe((await direct(DEMO_PRODUCT)).body);
  });

  it('marks personalized pages private, drops validators and sets the shopper cookie once', async () => {
    const { response } = await proxied(DEMO_PRODUCT, {}, { deps: { source: () => testSource() } });
    expect(response.headers.get('cache-control')).toBe('private');
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('content-length')).toBeNull();
    const cookies = response.headers.getAll('set-cookie');
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^rx_uid=[0-9a-f-]{36}; Max-Age=\d+; Path=\/; Secure; SameSite=Lax$/);

    const returning = await proxied(
      DEMO_PRODUCT,
      {
        headers: {
          'user-agent': 'Mozilla/5.0 Firefox/126.0',
          cookie: 'rx_uid=0b3c3f4e-1111-4222-8333-944455556666',
        },
      },
      { deps: { source: () => testSource() } },
    );
    expect(returning.response.headers.get('set-cookie')).toBeNull();
  });

  it("drops what describes the origin's bytes from a rewritten page: length, checksums, byte ranges", async () => {
    const page = raw('<!doctype html><html><head><title>Sums</title></head><body><p>x</p></body></html>', [
      'content-type: text/html; charset=utf-8',
      'accept-ranges: bytes',
      'content-md5: Q2hlY2sgSW50ZWdyaXR5IQ==',
      'digest: sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=',
      'content-digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
      'repr-digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    ]);
    const { response, body } = await proxied(page, {}, { deps: { source: () => testSource() } });
    expect(body).toContain('/rx.js');
    for (const name of ['content-length', 'content-md5', 'digest', 'content-digest', 'repr-digest']) {
      expect(response.headers.get(name), name).toBeNull();
    }
    // A Range request goes to the origin: its slice would not continue the rewritten page.
    expect(response.headers.get('accept-ranges')).toBe('none');
    // A crawler gets the origin's bytes, so their description stays.
    const crawler = await proxied(page, { headers: { 'user-agent': 'Googlebot/2.1' } });
    expect(crawler.response.headers.get('accept-ranges')).toBe('bytes');
    expect(crawler.response.headers.get('repr-digest')).not.toBeNull();
  });

  it("keeps the origin's no-store on a personalized page, and drops caching instructions meant for CDNs", async () => {
    const { response } = await proxied(
      `${DEMO_PRODUCT}?cache=${encodeURIComponent('no-store, max-age=0')}&cdn=max-age%3D600`,
      {},
      { deps: { source: () => testSource() } },
    );
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(response.headers.get('cdn-cache-control')).toBeNull();
  });

  it('passes XHTML (parsed as XML, where the injected tags would not be well-formed) through untouched', async () => {
    const { response, body } = await proxied(
      `${DEMO_PRODUCT}?type=application/xhtml%2Bxml`,
      {},
      {
        deps: { source: () => testSource() },
      },
    );
    expect(body).toBe((await direct(`${DEMO_PRODUCT}?type=application/xhtml%2Bxml`)).body);
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('survives self-closing SVG elements a loose RX_PRICE_SELECTOR matches, and tells RxJS from its plugin', async () => {
    const { body } = await proxied(
      '/svg-prices',
      {},
      {
        deps: { source: () => testSource({ priceFactor: 0.5 }) },
        env: { RX_PRICE_SELECTOR: '[class*=price]' },
      },
    );
    // The page is whole (onEndTag on <path/> used to throw and end it), the span's price rewritten.
    expect(body).toContain('<p id="last">end of page</p></body></html>');
    const half = Math.round(productById('85123A').price * 50) / 100;
    expect(body).toContain(`£${half.toFixed(2)}</span>`);
    expect(body).toContain('<path class="price-tag" d="M0 0"/>');
    // Another site's rx.js is not the shop's tag for this plugin: ours is still injected, once.
    expect(count(body, 'src="https://shop.example/rx.js"')).toBe(1);
  });

  it('injects its tags into the page, never into a <template> whose content has a <head> or <body>', async () => {
    // A template's content is inert: tags put there never run, and the page went without the plugin.
    const page =
      '<!doctype html><html><head><template id="doc"><head><title>t</title></head><body>preview</body></template>' +
      '<title>x</title></head><body><p>end of page</p></body></html>';
    const { body } = await proxied(raw(page, ['content-type: text/html; charset=utf-8']));
    expect(count(body, '/rx.js')).toBe(1);
    expect(body).toContain('<template id="doc"><head><title>t</title></head><body>preview</body></template>');
    expect(body).toMatch(
      /<title>x<\/title><style data-rx-styles>.*<\/style><script src="https:\/\/shop\.example\/rx\.js"[^>]*><\/script><\/head>/,
    );
  });

  it('writes a price in place when its end tag is left implied (minified <li>, <td>), not after </html>', async () => {
    const { body } = await proxied(
      '/implied-end-tags',
      {},
      {
        deps: { source: () => testSource({ priceFactor: 0.5 }) },
        env: { RX_PRICE_SELECTOR: '.price' },
      },
    );
    const half = (Math.round(productById('85123A').price * 50) / 100).toFixed(2);
    expect(body).toContain(`£${half}<li class=other>next item`);
    expect(body).toContain(`£${half}<td>cell`);
    expect(body).not.toContain('£2.95');
    expect(body.endsWith('<p id=last>end of page</body></html>')).toBe(true);
  });

  it("marks a price with the id the browser reads back: the URL's and the markup's, `&` escaped once", async () => {
    const source = testSource();
    const { body } = await proxied(
      '/products/x%26lt%3By',
      {},
      { deps: { source: () => source }, env: { RX_PRICE_SELECTOR: '.price' } },
    );
    // The page's id, decoded from the URL, is `x&lt;y`: written `x&amp;lt;y`, never `x&lt;y` (which reads `x<y`).
    expect(body).toContain('data-rx-product-id="x&amp;lt;y"');
    expect(body).toContain('data-rx-product-id="A&amp;B"');
    expect(body).not.toContain('data-rx-product-id="x&lt;y"');
    expect(body).not.toContain('&amp;amp;');
    expect(source.priceCalls.flat()).toEqual(expect.arrayContaining(['x&lt;y', 'A&B']));
  });

  it('reads slot attributes as the browser does: character references decoded', async () => {
    const source = testSource();
    const { body } = await proxied('/entity-attributes', {}, { deps: { source: () => source } });
    expect(source.queries.map((query) => query.category)).toContain('Home & Garden');
    // Decoded, then escaped once when written: the shopper reads "Tom & Jerry's picks".
    expect(body).toMatch(/Tom &amp; Jerry(&#39;|&#x27;)s picks/);
    expect(body).not.toContain('&amp;amp;');
  });

  it('answers HEAD with the headers a personalized GET gets, without fetching anything', async () => {
    const source = testSource();
    const { response, events } = await proxied(
      DEMO_PRODUCT,
      { method: 'HEAD' },
      { deps: { source: () => source } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private');
    expect(response.headers.get('etag')).toBeNull();
    expect(await response.text()).toBe('');
    expect(source.recommendCalls).toBe(0);
    expect(events).toHaveLength(0);
  });

  it('sends one valid Product Viewed event per product page, with what was shown', async () => {
    // The demo shop (scripts/demo-shop) as the origin: its product URLs tell the proxy the product.
    const shop = await proxied(
      '/products/85123A',
      {},
      { deps: { source: () => testSource() }, env: { ORIGIN_URL: inject('demoShopUrl') } },
    );
    expect(shop.events).toHaveLength(1);
    const event = shop.events[0];
    expect(validateEvent(event).ok).toBe(true);
    expect(event).toMatchObject({
      type: 'track',
      event: 'Product Viewed',
      properties: { product_id: '85123A', recommendation_id: 'rec-test-1', model_version: 'test-model' },
      context: { page: { path: '/products/85123A', url: `${PUBLIC}/products/85123A` }, personalized: true },
    });
  });

  it('sends no page view for a prefetch (a page the shopper may never open), leaving it to the plugin', async () => {
    const purposes: Record<string, string>[] = [
      { 'sec-purpose': 'prefetch' },
      { 'sec-purpose': 'prefetch;prerender' },
      { purpose: 'prefetch' },
    ];
    for (const purpose of purposes) {
      const { body, events } = await proxied(
        '/products/85123A',
        { headers: browserHeaders({ cookie: 'rx_uid=0b3c3f4e-1111-4222-8333-944455556666', ...purpose }) },
        { deps: { source: () => testSource() }, env: { ORIGIN_URL: inject('demoShopUrl') } },
      );
      expect(events).toHaveLength(0);
      expect(count(body, 'class="rx-item"')).toBeGreaterThan(0);
      expect(body).toContain('<script src="https://shop.example/rx.js" async></script>');
    }
  });

  it('retries a page view the queue refused, with the same messageId, and the page never notices', async () => {
    const attempts: RxEvent[][] = [];
    const { body, events } = await proxied(
      '/products/85123A',
      {},
      {
        deps: {
          source: () => testSource(),
          sendEvents: async (_env, sent) => {
            attempts.push(sent);
            if (attempts.length < 3) throw new Error('queue refused the batch');
          },
          pageViewRetryDelaysMs: [5, 5],
        },
        env: { ORIGIN_URL: inject('demoShopUrl') },
      },
    );
    expect(count(body, 'class="rx-item"')).toBe(4);
    expect(events).toEqual([]); // proxied() records events only from its own sendEvents
    expect(attempts).toHaveLength(3);
    const ids = attempts.map((sent) => sent.map((event) => event.messageId));
    expect(new Set(ids.flat()).size).toBe(1);
    expect(attempts[2]?.[0]).toMatchObject({ event: 'Product Viewed', properties: { product_id: '85123A' } });
  });

  it('logs a page view as not queued when the outbox refuses it too; the page is as usual', async () => {
    const logged = vi.spyOn(console, 'error');
    let lines: string[];
    let tries = 0;
    let body: string;
    try {
      ({ body } = await proxied(
        '/products/85123A',
        {},
        {
          deps: {
            source: () => testSource(),
            sendEvents: async () => {
              tries += 1;
              throw new Error('queue down');
            },
            // (The outbox itself, and the hand-over that keeps such events, are in events-outbox.test.ts.)
            holdEvents: async () => {
              throw new OutboxRefusedError('The outbox is full (100000 events waiting); 1 refused');
            },
            pageViewRetryDelaysMs: [5, 5],
          },
          env: { ORIGIN_URL: inject('demoShopUrl') },
        },
      ));
    } finally {
      lines = logged.mock.calls.map((call) => call.join(' '));
      logged.mockRestore();
    }
    expect(count(body, 'class="rx-item"')).toBe(4);
    expect(tries).toBe(3);
    const gaveUp = lines.filter((line) => line.includes('proxy_page_view_not_queued'));
    expect(gaveUp).toHaveLength(1);
    expect(JSON.parse(gaveUp[0] ?? '{}')).toMatchObject({
      level: 'error',
      attempts: 3,
      error: { message: 'queue down' },
      holdError: {
        name: 'OutboxRefusedError',
        message: 'The outbox is full (100000 events waiting); 1 refused',
      },
    });
  });

  it('rewrites a price whose quote arrives only after its element ended, within the budget', async () => {
    // The quote is held until the price handler has met the element's whole text and looked for a
    // quote it already has (PageSession.settledPrice): it finds none, so it must wait for the quote
    // (the asynchronous path) instead of writing what it knows at once (the path for a known quote).
    // A handler that did not wait would write the shop's own price. (workerd runs other work between
    // the rewriter's handler calls, so the page's output having reached the element would not do.)
    const base = productById('85123A').price;
    const personal = Math.round(base * 0.5 * 100) / 100;
    let elementEnded: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      elementEnded = resolve;
    });
    const lookups: Array<{ productId: string; known: boolean }> = [];
    const settledPrice = PageSession.prototype.settledPrice;
    const lookup = vi.spyOn(PageSession.prototype, 'settledPrice').mockImplementation(function (
      this: PageSession,
      productId: string,
    ) {
      const found = settledPrice.call(this, productId);
      lookups.push({ productId, known: found !== undefined });
      if (productId === '85123A') elementEnded();
      return found;
    });
    const source = testSource({ priceFactor: 0.5 });
    const prices = source.prices.bind(source);
    source.prices = async (ids) => {
      await ended;
      return prices(ids);
    };
    let body: string;
    try {
      // A budget longer than the test's own timeout: no clock decides whether the quote is in time.
      ({ body } = await proxied(
        DEMO_PRODUCT,
        {},
        { deps: { source: () => source }, env: { PERSONALIZATION_BUDGET_MS: '60000' } },
      ));
    } finally {
      lookup.mockRestore();
      elementEnded();
    }
    expect(lookups.filter((seen) => seen.productId === '85123A')).toEqual([
      { productId: '85123A', known: false },
    ]);
    expect(body).toContain(
      `<span class="price" data-rx-price data-rx-product-id="85123A">£${personal.toFixed(2)}</span>`,
    );
  });

  it('rewrites prices with the shopper price in the shop format, and shows the disclosure when configured', async () => {
    const base = productById('85123A').price;
    const personal = Math.round(base * 0.85 * 100) / 100;
    const { body } = await proxied(
      DEMO_PRODUCT,
      {},
      {
        deps: { source: () => testSource({ priceFactor: 0.85 }) },
        env: { RX_PRICE_DISCLOSURE: 'Price personalised for you' },
      },
    );
    expect(body).toContain(
      `<span class="price" data-rx-price data-rx-product-id="85123A">£${personal.toFixed(2)}</span><small class="rx-price-note">Price personalised for you</small>`,
    );
    expect(body).not.toContain(`>£${base.toFixed(2)}</span>`);
    // Recommended items show the shopper's prices too.
    const first = productById('22423');
    expect(body).toContain(
      `<span class="rx-price">£${(Math.round(first.price * 0.85 * 100) / 100).toFixed(2)}</span>`,
    );
  });

  it('uses RX_SLOTS, RX_PRICE_SELECTOR and RX_PRODUCT_ID_SELECTOR for shops without data-rx markup', async () => {
    const { body } = await dawnAtHalfPrice({
      RX_SLOTS: JSON.stringify([
        { selector: '.product-recommendations__heading', placement: 'product', position: 'after', limit: 3 },
      ]),
      RX_PRICE_SELECTOR: '.price-item--regular',
      RX_PRODUCT_ID_SELECTOR: 'product-info[data-product-id]',
    });
    expectDawnPersonalized(body);
  });

  it("gives an RX_SLOTS block the entry's heading, or none beside the shop's own", async () => {
    const dawn = async (slots: object[]) =>
      (
        await proxied(
          '/fixtures/shopify-dawn-product.html',
          {},
          { deps: { source: () => testSource() }, env: { RX_SLOTS: JSON.stringify(slots) } },
        )
      ).body;
    const slot = { selector: '.product-recommendations__heading', placement: 'product', position: 'after' };
    // The shop's heading is already there: "" leaves the block without a second "You may also like".
    const bare = await dawn([{ ...slot, heading: '' }]);
    expect(bare).toMatch(
      /<h2 class="product-recommendations__heading">You may also like<\/h2><section class="rx-block[^>]*><ul class="rx-list">/,
    );
    expect(bare).not.toContain('class="rx-heading"');
    const titled = await dawn([{ ...slot, heading: 'Tom & Jerry' }]);
    expect(count(titled, '<h2 class="rx-heading">Tom &amp; Jerry</h2>')).toBe(1);
    // Without `heading`, the placement's, as for a data-rx-slot without data-rx-heading.
    expect(count(await dawn([slot]), '<h2 class="rx-heading">You may also like</h2>')).toBe(1);
  });

  it('puts no block inside an element that has no content, and does not count one as shown', async () => {
    // `append` on Dawn's hidden <input>s: the parser would drop each block without a word.
    const slots = [{ selector: 'input[type=hidden]', placement: 'home', position: 'append' }];
    const page = await proxied(
      '/fixtures/shopify-dawn-product.html',
      {},
      { deps: { source: () => testSource() }, env: { RX_SLOTS: JSON.stringify(slots) } },
    );
    expect(page.body).toContain('<input type="hidden" name="form_type" value="product">');
    expect(page.body).not.toContain('<section class="rx-block');
    expect(page.events).toHaveLength(1);
    expect(page.events[0]?.context).toMatchObject({ personalized: false });
    expect(page.events[0]?.properties?.recommendation_id).toBeUndefined();
  });

  it('rewrites an element matched by both data-rx-price and RX_PRICE_SELECTOR once', async () => {
    await expectDemoPriceRewritten('span.price, .nothing[data-x="a,b"]');
  });

  it('skips only a selector HTMLRewriter refuses: the rest of each selector setting still works', async () => {
    const { response, body } = await dawnAtHalfPrice({
      RX_SLOTS: JSON.stringify([
        {
          selector: '.product-recommendations__heading, h2:hover',
          placement: 'product',
          position: 'after',
          limit: 3,
        },
        { selector: '::bogus', placement: 'home' },
      ]),
      RX_PRICE_SELECTOR: '.price-item--regular, div[',
      // The product id comes only from here on this page (its URL names no product).
      RX_PRODUCT_ID_SELECTOR: 'product-info[data-product-id], a >> b',
    });
    expect(response.status).toBe(200);
    expectDawnPersonalized(body);
  });

  it('reports a refused selector once per isolate (config_problem), not on every page', async () => {
    const warn = vi.spyOn(console, 'warn');
    try {
      // `span.price > *` is a selector HTMLRewriter takes; `span.price >` is not.
      for (let page = 0; page < 3; page++) await expectDemoPriceRewritten('span.price, span.price >');
      const lines = warn.mock.calls.flatMap((call) => {
        try {
          return [JSON.parse(String(call[0])) as { event: string; problem?: string }];
        } catch {
          return [];
        }
      });
      expect(lines.filter((line) => line.event === 'proxy_selector_invalid')).toEqual([]);
      expect(lines.filter((line) => line.event === 'config_problem')).toEqual([
        {
          level: 'warn',
          event: 'config_problem',
          problem:
            'RX_PRICE_SELECTOR must be a CSS selector HTMLRewriter supports, got "span.price >" (Dangling combinator in selector)',
        },
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('keeps the valid RX_SLOTS entries when another entry is not valid', async () => {
    const { response, body } = await proxied(
      '/fixtures/shopify-dawn-product.html',
      {},
      {
        deps: { source: () => testSource() },
        env: {
          RX_SLOTS: JSON.stringify([
            { selector: '.product-recommendations__heading', placement: 'product', position: 'after' },
            { selector: 'footer', placement: 'basket' },
          ]),
        },
      },
    );
    expect(response.status).toBe(200);
    expect(body).toMatch(
      /<h2 class="product-recommendations__heading">You may also like<\/h2><section class="rx-block/,
    );
    expect(count(body, 'class="rx-block')).toBe(1);
  });

  it('keeps serving the page when RX_SLOTS is invalid JSON or has a bad selector', async () => {
    for (const slots of ['not json', JSON.stringify([{ selector: '[[[', placement: 'home' }])]) {
      const { response, body } = await proxied(
        DEMO_PRODUCT,
        {},
        { deps: { source: () => testSource() }, env: { RX_SLOTS: slots } },
      );
      expect(response.status).toBe(200);
      expect(count(body, 'class="rx-block')).toBe(1);
    }
  });
});

// The default model bundle is embedded into the worker by scripts/models-embed.ts (committed as
// worker/src/models/default-bundle.generated.ts). The real worker with no bundle at all (nothing
// published, DEMO_BUNDLE=false) is proxy-no-bundle.integration.test.ts: an isolate of its own, since
// the bundle this file's first real-worker request loads stays for the rest of the file.
const bundleEmbedded = defaultBundleFiles !== undefined;

describe('proxy: the real worker', () => {
  it.skipIf(!bundleEmbedded)(
    'personalizes the demo shop product page with the edge recommender',
    async () => {
      const shop = inject('demoShopUrl');
      // A generous budget: the first ONNX session in the test pool takes seconds (DESIGN.md platform facts).
      const { response, body } = await viaWorker(
        '/products/85123A',
        {},
        { ORIGIN_URL: shop, PERSONALIZATION_BUDGET_MS: '60000', HOLDOUT_PERCENT: '0' },
      );
      const original = await (await fetch(`${shop}/products/85123A`)).text();
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('private');
      const ids = [...body.matchAll(/data-rx-product-id="([^"]+)" data-rx-recommendation-id=/g)].map(
        (m) => m[1],
      );
      expect(ids).toHaveLength(4);
      expect(ids).not.toContain('85123A');
      expect(withoutInsertions(body)).toBe(original);
    },
    60_000,
  );
});

describe('proxy: never break the shop', () => {
  it('streams the untouched page on when personalization is past its budget', async () => {
    const slow = testSource({ delayMs: 400, priceFactor: 0.5 });
    const { body, events } = await proxied(
      DEMO_PRODUCT,
      {},
      { deps: { source: () => slow }, env: { PERSONALIZATION_BUDGET_MS: '20' } },
    );
    const original = await direct(DEMO_PRODUCT);
    expect(body).not.toContain('<section class="rx-block');
    expect(withoutInsertions(body)).toBe(original.body);
    expect(body).toContain('£2.95');
    expect(events[0]?.context).toMatchObject({ personalized: false });
  });

  it('streams the untouched page on when recommendations and prices fail', async () => {
    const { response, body } = await proxied(
      DEMO_PRODUCT,
      {},
      { deps: { source: () => testSource({ fail: true }) } },
    );
    expect(response.status).toBe(200);
    expect(withoutInsertions(body)).toBe((await direct(DEMO_PRODUCT)).body);
    expect(body).not.toContain('<section class="rx-block');
    // No answer is not an empty answer: the slot is left for the plugin to try again.
    expect(body).not.toContain('data-rx-state="empty"');
  });

  it('marks a slot whose answer has nothing to show (no bundle published) empty: it keeps the shop markup and gives back its height', async () => {
    const { body } = await proxied(DEMO_PRODUCT, {}, { deps: { source: () => testSource({ items: [] }) } });
    expect(body).not.toContain('<section class="rx-block');
    expect(count(body, 'data-rx-state="empty"')).toBe(1);
    expect(/<div [^>]*data-rx-slot[^>]*data-rx-state="empty"/.test(body)).toBe(true);
    // The default stylesheet releases the reservation of such a slot.
    expect(body).toContain(':where([data-rx-slot][data-rx-state=empty]){min-height:0}');
    expect(withoutInsertions(body).replace(' data-rx-state="empty"', '')).toBe(
      (await direct(DEMO_PRODUCT)).body,
    );
  });

  it('gives crawlers (by user agent or Cloudflare bot score) the origin page and base prices', async () => {
    const source = testSource({ priceFactor: 0.5 });
    const original = await direct(DEMO_PRODUCT);
    const byAgent = await proxied(
      DEMO_PRODUCT,
      {
        headers: { 'user-agent': 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)' },
      },
      { deps: { source: () => source } },
    );
    expect(byAgent.body).toBe(original.body);
    expect(byAgent.response.headers.get('cache-control')).toBe('public, max-age=600');
    expect(byAgent.events).toHaveLength(0);

    const byScore = await proxied(
      DEMO_PRODUCT,
      {
        headers: { 'user-agent': 'Mozilla/5.0 Chrome/126.0', accept: 'text/html' },
        cf: { botManagement: { score: 2, verifiedBot: false } },
      } as RequestInit,
      { deps: { source: () => source } },
    );
    expect(byScore.body).toBe(original.body);
    expect(source.recommendCalls).toBe(0);
  });

  it('passes pages under RX_EXCLUDE_PATHS through untouched: no script, no cookie, no event', async () => {
    const source = testSource({ priceFactor: 0.5 });
    const original = await direct(DEMO_PRODUCT);
    const excluded = await proxied(
      DEMO_PRODUCT,
      {},
      { deps: { source: () => source }, env: { RX_EXCLUDE_PATHS: '/checkout,/fixtures' } },
    );
    expect(excluded.body).toBe(original.body);
    expect(excluded.response.headers.get('cache-control')).toBe('public, max-age=600');
    expect(excluded.response.headers.get('set-cookie')).toBeNull();
    expect(excluded.events).toHaveLength(0);
    expect(source.recommendCalls).toBe(0);

    // A prefix matches whole path segments only: /fixture is not /fixtures.
    const personalized = await proxied(
      DEMO_PRODUCT,
      {},
      { deps: { source: () => source }, env: { RX_EXCLUDE_PATHS: '/fixture' } },
    );
    expect(count(personalized.body, '<section class="rx-block')).toBe(1);
  });

  it('with RX_CONSENT=required tracks nobody without the rx_consent cookie: non-personal slots, plugin told so', async () => {
    const source = testSource({ priceFactor: 0.5 });
    const nonPersonal = testSource({ priceFactor: 0.5 });
    const original = await direct(DEMO_PRODUCT);
    const pending = await proxied(
      DEMO_PRODUCT,
      {},
      {
        deps: { source: () => source, nonPersonalSource: () => nonPersonal },
        env: { RX_CONSENT: 'required' },
      },
    );
    expect(pending.body).toContain(
      '<script src="https://shop.example/rx.js" async data-consent="required"></script>',
    );
    // The slot is filled in the initial HTML from the non-personal source; nothing else changes:
    // the shop's prices stay as they are (no price rewriting without a personal session).
    expect(count(pending.body, '<section class="rx-block')).toBe(1);
    expect(pending.body).toContain('<style data-rx-styles>');
    expect(withoutInsertions(pending.body)).toBe(original.body);
    expect(pending.body).not.toContain('data-rx-page-view');
    // Two asks, as on a personalized page: the prefetch for the URL's context while the origin works
    // (this fixture's URL says "home"), then the slot's own product query.
    expect(nonPersonal.recommendCalls).toBe(2);
    expect(source.recommendCalls).toBe(0);
    // Untracked: no id, no event, and the origin's caching kept (the same page for every such shopper).
    expect(pending.response.headers.get('set-cookie')).toBeNull();
    expect(pending.response.headers.get('cache-control')).toBe('public, max-age=600');
    expect(pending.events).toHaveLength(0);

    // A shop that also pastes its own rx.js tag: that tag is told the consent rule instead.
    const ownTag = await proxied(
      '/fixtures/demo-product-script-mode.html',
      {},
      {
        deps: { source: () => source, nonPersonalSource: () => nonPersonal },
        env: { RX_CONSENT: 'required' },
      },
    );
    expect(ownTag.body).toContain(
      '<script src="/rx.js" async data-site="demo" data-consent="required"></script>',
    );
    expect(count(ownTag.body, 'rx.js')).toBe(1);

    const consented = await proxied(
      DEMO_PRODUCT,
      { headers: browserHeaders({ cookie: 'theme=dark; rx_consent=1' }) },
      { deps: { source: () => source }, env: { RX_CONSENT: 'required' } },
    );
    expect(count(consented.body, '<section class="rx-block')).toBe(1);
    expect(consented.body).toContain(
      '<script src="https://shop.example/rx.js" async data-rx-page-view="sent" data-consent="required"></script>',
    );
    expect(consented.response.headers.get('set-cookie')).toMatch(/^rx_uid=/);
    expect(consented.events).toHaveLength(1);
  });

  it('with RX_HONOUR_GPC=true tracks no browser sending Sec-GPC: 1, even after consent', async () => {
    const source = testSource();
    const nonPersonal = testSource();
    const { body, response, events } = await proxied(
      DEMO_PRODUCT,
      { headers: browserHeaders({ cookie: 'rx_consent=1', 'sec-gpc': '1' }) },
      {
        deps: { source: () => source, nonPersonalSource: () => nonPersonal },
        env: { RX_CONSENT: 'required', RX_HONOUR_GPC: 'true' },
      },
    );
    expect(body).toContain(
      '<script src="https://shop.example/rx.js" async data-consent="required" data-gpc></script>',
    );
    expect(count(body, '<section class="rx-block')).toBe(1);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(events).toHaveLength(0);
    expect(source.recommendCalls).toBe(0);
    expect(nonPersonal.recommendCalls).toBe(2);
  });

  it("an untracked shopper's slots come from the page alone, as a first-time shopper's; a strong ETag turns weak", async () => {
    const noCache = { UPSTASH_REDIS_REST_URL: '', UPSTASH_REDIS_REST_TOKEN: '' };
    const { body, response, events } = await proxied(
      DEMO_PRODUCT,
      {},
      { env: { RX_CONSENT: 'required', ...noCache } },
    );
    const block = /<section class="rx-block[\s\S]*?<\/section>/.exec(body)?.[0] ?? '';
    const items = [...block.matchAll(/data-rx-product-id="([^"]+)"/g)].map((match) => match[1]);
    // The slot asks for 4 items like product 85123A (data-rx-placement="product" data-rx-limit="4").
    expect(items).toHaveLength(4);
    expect(items).not.toContain('85123A');
    // Items like the page's product, the list a first-time shopper's API call gets (no id, no history):
    // the page shows the same before consent as right after it.
    const api = await viaWorker(
      '/v1/recommendations?placement=product&product_id=85123A&limit=4',
      {},
      noCache,
    );
    const firstTime = JSON.parse(api.body) as { source: string; items: Array<{ product_id: string }> };
    expect(firstTime.source).toBe('similar');
    expect(items).toEqual(firstTime.items.map((item) => item.product_id));
    // The page's own price of 85123A is the origin's text, untouched.
    expect(body).toContain('<span class="price" data-rx-price data-rx-product-id="85123A">');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(events).toHaveLength(0);
    const etag = (await direct(DEMO_PRODUCT)).response.headers.get('etag');
    expect(etag).toMatch(/^"/);
    expect(response.headers.get('etag')).toBe(`W/${etag}`);
  });

  it("gives held-out shoppers the original page with the plugin only, cached as treatment's; their page view is sent as in treatment", async () => {
    const source = testSource({ priceFactor: 0.5 });
    const { response, body, events } = await proxied(
      DEMO_PRODUCT,
      {
        headers: {
          'user-agent': 'Mozilla/5.0 Chrome/126.0',
          cookie: 'rx_uid=0b3c3f4e-1111-4222-8333-944455556666',
        },
      },
      { deps: { source: () => source }, env: { HOLDOUT_PERCENT: '100' } },
    );
    const original = await direct(DEMO_PRODUCT);
    expect(body).toBe(
      original.body.replace(
        '</head>',
        '<script src="https://shop.example/rx.js" async data-rx-page-view="sent"></script></head>',
      ),
    );
    // Both arms' pages are cached alike: a held-out page the browser reused would show uncounted (it
    // says its view was sent) and faster than treatment's.
    expect(response.headers.get('cache-control')).toBe('private');
    expect(response.headers.get('etag')).toBeNull();
    expect(source.recommendCalls).toBe(0);
    // Counted by the worker as a treatment page is: a visitor whose JavaScript never runs is then a
    // shopper in both arms alike, not in treatment alone.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'track',
      event: 'Product Viewed',
      anonymousId: '0b3c3f4e-1111-4222-8333-944455556666',
      properties: { product_id: '85123A' },
      context: { source: 'rx-proxy', personalized: false },
    });
    expect(events[0]?.properties).not.toHaveProperty('recommendation_id');
  });
});

describe('proxy: XSS', () => {
  it('escapes markup and script from catalogue titles, ids and URLs', async () => {
    const hostile = testSource({
      items: [
        {
          product_id: '"><script>alert(1)</script>',
          title: '<img src=x onerror=alert(document.cookie)> Mug</span></section><script>alert(2)</script>',
          url: 'javascript:alert(3)',
          image: '"><svg onload=alert(4)>',
          price: 1,
          score: 1,
        },
      ],
    });
    const { body } = await proxied(DEMO_PRODUCT, {}, { deps: { source: () => hostile } });
    const original = await direct(DEMO_PRODUCT);
    expect(count(body, '<script')).toBe(count(original.body, '<script') + 1);
    expect(body).not.toMatch(/<img src=x|<svg|javascript:/);
    expect(body).toContain(
      '&lt;img src=x onerror=alert(document.cookie)&gt; Mug&lt;/span&gt;&lt;/section&gt;',
    );
    expect(withoutInsertions(body)).toBe(original.body);
  });

  it('never writes the query string into the page', async () => {
    const query = '?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E&x=%22%3E%3Cimg%20src%3Dx%3E';
    const { body, events } = await proxied(
      `/fixtures/demo-product.html${query}`,
      {},
      { deps: { source: () => testSource() } },
    );
    expect(body).not.toContain('alert(1)');
    expect(body).not.toContain('<img src=x>');
    expect(JSON.stringify(events)).not.toContain('alert(1)');
  });
});
