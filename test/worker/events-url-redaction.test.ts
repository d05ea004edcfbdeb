import { createExecutionContext, getQueueResult, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { RxEvent } from '../../contracts/events';
import { enrichEvents } from '../../worker/src/events/enrich';
import { REDACTED, redactSearch, redactUrl } from '../../worker/src/events/url-redaction';
import worker from '../../worker/src/index';
import {
  batchOf,
  runId,
  storedEvents,
  viewEvent,
  waitForRunCount,
  withDb,
  workerEnv,
} from './events-support';

/** Real-looking storefront URLs (Shopify, WooCommerce, Magento, SAP, SFCC) that must stay as sent. */
const KEPT = [
  'https://shop.example.com/products/classic-leather-jacket',
  'https://shop.example.com/collections/mens/products/nike-air-max-90-white',
  'https://shop.example.com/products/iphone-15-pro-max-case-256gb',
  'https://shop.example.com/products/85123A',
  'https://shop.example.com/products/white-hanging-heart-t-light-holder-85123a',
  'https://shop.example.com/products/sony-wh-1000xm5-noise-cancelling-headphones-black',
  'https://shop.example.com/products/mb-pro-14-m3-512gb-space-grey',
  'https://shop.example.com/products/iPhone-15-Pro-Max-256GB-Blue',
  'https://shop.example.com/products/9781234567897',
  'https://shop.example.com/products/7234567890123',
  'https://shop.example.com/de/produkte/herrenschuhe-schwarz-leder-gr-42',
  'https://shop.example.com/collections/all',
  'https://shop.example.com/account/orders',
  'https://shop.example.com/pages/unsubscribe',
  'https://shop.example.com/blogs/news/how-to-reset-your-password',
  'https://shop.example.com/search?q=red+shoes&utm_source=newsletter&utm_campaign=spring2024',
  'https://woo.example/product/hoodie-with-logo/',
  'https://woo.example/product-category/clothing/hoodies/',
  'https://woo.example/my-account/view-order/1234/',
  'https://woo.example/checkout/order-received/4821/',
  'https://woo.example/2024/05/01/spring-sale-announcement/',
  'https://magento.example/women/tops-women/jackets-women/olivia-1-4-zip-light-jacket.html',
  'https://magento.example/catalog/product/view/id/1234/s/olivia-jacket/category/12/',
  'https://magento.example/gear/bags/joust-duffle-bag-24-mb01.html',
  'https://sap.example/Open-Catalogue/Cameras/Digital-Cameras/Compact-Cameras/DSC-N1/p/816802',
  'https://sap.example/en/Galaxy-S23-Ultra-5G-Black/p/SM-S918BZKDEUB',
  'https://sfcc.example/en-us/product/Mens-Classic-Leather-Jacket-XL-2024/25592581M.html',
  '/products/classic-leather-jacket',
  'android-app://com.google.android.gm/',
  'https://www.google.com/',
  '',
];

/** URL → what is stored. */
const REDACTED_URLS: [string, string][] = [
  [
    'https://shop.example.com/account/reset/6784512345678/3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c-1700000000',
    `https://shop.example.com/account/reset/${REDACTED}/${REDACTED}`,
  ],
  [
    '/account/activate/6784512345678/0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e-1700000000',
    `/account/activate/${REDACTED}/${REDACTED}`,
  ],
  [
    'https://shop.example.com/12345678/orders/0123456789abcdef0123456789abcdef',
    `https://shop.example.com/12345678/orders/${REDACTED}`,
  ],
  [
    'https://shop.example.com/12345678/checkouts/cn/Z2NwLXVzLWVhc3QxOjAxSjhYUVhGWkJQR1Q4QUNQM1JYUFA3WFhO',
    `https://shop.example.com/12345678/checkouts/cn/${REDACTED}`,
  ],
  // Short tokens after a word that announces one; an email address anywhere.
  ['https://shop.example.com/unsubscribe/ab12cd34', `https://shop.example.com/unsubscribe/${REDACTED}`],
  ['/newsletter/confirm/k3j9x0q2m8z7v1b4n6c5', `/newsletter/confirm/${REDACTED}`],
  ['/unsubscribe/jane.doe%40example.com', `/unsubscribe/${REDACTED}`],
  ['/orders/7c9e6679-7425-40de-944b-e07fc1f90ae7/status', `/orders/${REDACTED}/status`],
  // Hex that reads as words and a number, too few pieces to look random: the hex and UUID rules catch them.
  ['/downloads/deadbeefcafe1234', `/downloads/${REDACTED}`],
  ['/orders/deadbeef-cafe-4bad-9fee-decafbad1234/status', `/orders/${REDACTED}/status`],
  // A base64url token cut into short runs by its `-` and `_`.
  ['/checkout/tk/aZ3-kQ9_xL2mP-7vR4wS8t', `/checkout/tk/${REDACTED}`],
  // Query strings (a Segment source sends them): by parameter name, or by the value's look.
  [
    'https://woo.example/checkout/order-pay/4821/?pay_for_order=true&key=wc_order_aBc123XyZ',
    `https://woo.example/checkout/order-pay/4821/?pay_for_order=true&key=${REDACTED}`,
  ],
  [
    '/users/password/edit?reset_password_token=abcDEF123&locale=en',
    `/users/password/edit?reset_password_token=${REDACTED}&locale=en`,
  ],
  ['/search?q=jane%40example.com', `/search?q=${REDACTED}`],
  ['https://user:hunter2@shop.example.com/cart', `https://${REDACTED}@shop.example.com/cart`],
  ['/login#access_token=eyJhbGciOiJIUzI1NiJ9', `/login#access_token=${REDACTED}`],
];

describe('redactUrl', () => {
  it('keeps ordinary storefront URLs character for character', () => {
    for (const url of KEPT) expect(redactUrl(url), url).toBe(url);
  });

  it('redacts token-like path segments, secret query values, user info and fragment tokens', () => {
    for (const [url, stored] of REDACTED_URLS) expect(redactUrl(url), url).toBe(stored);
  });

  // A hash-routed single-page app keeps its route in the fragment: the path rules apply there too, so a
  // short token after `reset` is redacted as it is in a path (the whole fragment read as one value was kept).
  it("redacts a hash-routed app's fragment path (#/…, #!/… and #route/…) segment by segment, and its query", () => {
    const routed: [string, string][] = [
      [
        'https://shop.example/#/account/reset/123/ab12cd34',
        `https://shop.example/#/account/reset/123/${REDACTED}`,
      ],
      ['https://shop.example/#!/unsubscribe/ab12cd34', `https://shop.example/#!/unsubscribe/${REDACTED}`],
      ['/app#/newsletter/confirm/k3j9x0q2?lang=en', `/app#/newsletter/confirm/${REDACTED}?lang=en`],
      ['/app#/account/activate/x?token=abc', `/app#/account/activate/x?token=${REDACTED}`],
      // Only the token segment, not the whole route, and ordinary routes stay as sent.
      ['/#/orders/0123456789abcdef0123456789abcdef/status', `/#/orders/${REDACTED}/status`],
      ['/#/products/classic-leather-jacket', '/#/products/classic-leather-jacket'],
      ['/#/collections/all?page=2', '/#/collections/all?page=2'],
      // Backbone-style routes have no leading slash (`#reset/<token>`): a fragment with a `/` before any
      // `=` or `?` is a route too.
      ['https://shop.example/#reset/ab12cd34', `https://shop.example/#reset/${REDACTED}`],
      ['/app#account/unsubscribe/k3j9x0q2?lang=en', `/app#account/unsubscribe/${REDACTED}?lang=en`],
      ['/#products/classic-leather-jacket', '/#products/classic-leather-jacket'],
      // A fragment that is not a path: parameters as before, and a plain anchor is kept.
      ['/p#section-2', '/p#section-2'],
      ['/cb#state=a/b&access_token=x', `/cb#state=a/b&access_token=${REDACTED}`],
    ];
    for (const [url, stored] of routed) expect(redactUrl(url), url).toBe(stored);
    // Redacting again leaves it as it is (the consumer redacts every event a second time).
    for (const [, stored] of routed) expect(redactUrl(stored), stored).toBe(stored);
  });

  it('catches random tokens of 20+ characters of every common alphabet, not only the examples', () => {
    const alphabets = {
      hex: '0123456789abcdef',
      base36: 'abcdefghijklmnopqrstuvwxyz0123456789',
      base62: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
      base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
    };
    // A fixed generator (mulberry32), so the test is the same on every run.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (const [name, alphabet] of Object.entries(alphabets)) {
      let missed = 0;
      for (let i = 0; i < 500; i++) {
        const token = Array.from({ length: 32 }, () => alphabet[Math.floor(random() * alphabet.length)]).join(
          '',
        );
        if (redactUrl(`/t/${token}`) !== `/t/${REDACTED}`) missed++;
      }
      // Measured: under 3% of 32-character base36 tokens look like words and numbers; none of the others.
      expect(missed, name).toBeLessThanOrEqual(name === 'base36' ? 20 : 5);
    }
  });

  // Nothing bounds a URL field's length but the 32 KB event, and the consumer redacts every event again:
  // a pattern tried afresh from each position of a long segment cost the square of its length (a 30 KB
  // run of digits took ~2 s of CPU, so a few such events in a consumer batch passed its CPU limit and
  // took every event beside them to the dead-letter queue). At 150,000 characters that was about a
  // minute; the test's timeout is what catches it coming back.
  it('reads a long segment or query value in time proportional to its length', { timeout: 10_000 }, () => {
    const digits = '1'.repeat(150_000);
    const letters = 'a'.repeat(150_000);
    expect(redactUrl(`/products/${digits}?q=${digits}`)).toBe(`/products/${digits}?q=${digits}`);
    expect(redactUrl(`/p/x@${letters}`)).toBe(`/p/x@${letters}`);
    expect(redactUrl(`/p/${digits}a`)).toBe(`/p/${REDACTED}`);
  });

  it("redacts Segment's search field as a query string", () => {
    expect(redactSearch('?token=abc&utm_source=x')).toBe(`?token=${REDACTED}&utm_source=x`);
    expect(redactSearch('utm_source=x')).toBe('utm_source=x');
  });
});

describe('enrichEvents redacts the URL fields of every event it enriches', () => {
  const reset = '/account/reset/6784512345678/3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c-1700000000';
  const redactedReset = `/account/reset/${REDACTED}/${REDACTED}`;

  it('a page view as the proxy sends it: context.page.path and url, properties.path', async () => {
    const event: RxEvent = {
      type: 'page',
      anonymousId: 'a1',
      context: { page: { path: reset, url: `https://shop.example.com${reset}` }, source: 'rx-proxy' },
      properties: { path: reset },
    };
    const [stored] = await enrichEvents(workerEnv(), [event]);
    expect(stored?.context?.page).toEqual({
      path: redactedReset,
      url: `https://shop.example.com${redactedReset}`,
    });
    expect(stored?.properties?.path).toBe(redactedReset);
    expect(stored?.context?.source).toBe('rx-proxy');
    // The sender's object is not changed (the proxy retries with it).
    expect(event.properties?.path).toBe(reset);
  });

  it('referrers, search, context.referrer.url and products[].url; product fields are kept', async () => {
    const order = 'https://shop.example.com/12345678/orders/0123456789abcdef0123456789abcdef';
    const event: RxEvent = {
      type: 'track',
      event: 'Product Viewed',
      anonymousId: 'a1',
      context: {
        page: { referrer: order, search: '?key=wc_order_abc', title: 'Jacket' },
        referrer: { type: 'email', url: order },
      },
      properties: {
        product_id: '0123456789abcdef0123',
        url: 'https://shop.example.com/products/classic-leather-jacket',
        referrer: order,
        products: [{ product_id: 'P1', url: order }, { product_id: 'P2' }],
      },
    };
    const [stored] = await enrichEvents(workerEnv(), [event]);
    const redactedOrder = `https://shop.example.com/12345678/orders/${REDACTED}`;
    expect(stored?.context).toEqual({
      page: { referrer: redactedOrder, search: `?key=${REDACTED}`, title: 'Jacket' },
      referrer: { type: 'email', url: redactedOrder },
    });
    expect(stored?.properties).toEqual({
      product_id: '0123456789abcdef0123',
      url: 'https://shop.example.com/products/classic-leather-jacket',
      referrer: redactedOrder,
      products: [{ product_id: 'P1', url: redactedOrder }, { product_id: 'P2' }],
    });
  });

  it("RudderStack JS's tab_url (location.href, query and fragment) and initial_referrer", async () => {
    // RudderStack JS puts these in context.page of every event and in a page call's properties: tab_url is
    // location.href as it is, beside the url it cleans up, so a WooCommerce order key left it unredacted.
    const orderPage = 'https://woo.example/checkout/order-received/4821/?key=wc_order_abc123';
    const stored = `https://woo.example/checkout/order-received/4821/?key=${REDACTED}`;
    const page = {
      url: orderPage,
      tab_url: `${orderPage}#access_token=eyJhbGciOiJIUzI1NiJ9`,
      initial_referrer: `https://shop.example.com${reset}`,
    };
    const event: RxEvent = {
      type: 'page',
      anonymousId: 'a1',
      context: { page },
      properties: { ...page },
    };
    const [enriched] = await enrichEvents(workerEnv(), [event]);
    const redacted = {
      url: stored,
      tab_url: `${stored}#access_token=${REDACTED}`,
      initial_referrer: `https://shop.example.com${redactedReset}`,
    };
    expect(enriched?.context?.page).toEqual(redacted);
    expect(enriched?.properties).toEqual(redacted);
  });
});

describe('through the intake, the queue and the consumer', () => {
  it('/v1/events and the Segment /v1/page store the redacted URLs in MongoDB', async () => {
    const run = runId();
    const reset =
      'https://shop.example.com/account/reset/6784512345678/3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c-1700000000';
    const kept = 'https://shop.example.com/products/classic-leather-jacket';
    const plugin = viewEvent(run, 0, { context: { page: { url: kept, referrer: reset } } });
    const events = await SELF.fetch('http://worker.test/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [plugin] }),
    });
    expect(events.status).toBe(202);
    const segment = await SELF.fetch('http://worker.test/v1/page', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${btoa('test-segment-write-key:')}`,
      },
      body: JSON.stringify({
        messageId: `${run}-1`,
        anonymousId: 'a1',
        properties: {
          run,
          url: `${reset}?utm_source=email`,
          path: '/account/reset/6784512345678/3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c-1700000000',
        },
      }),
    });
    expect(segment.status).toBe(200);
    expect(await waitForRunCount(run, 2)).toBe(2);
    const docs = await withDb((db) =>
      db
        .collection<{ _id: string; context?: { page?: unknown }; properties: Record<string, unknown> }>(
          'events',
        )
        .find({ 'properties.run': run })
        .sort({ _id: 1 })
        .toArray(),
    );
    const redacted = `https://shop.example.com/account/reset/${REDACTED}/${REDACTED}`;
    expect(docs[0]?.context?.page).toEqual({ url: kept, referrer: redacted });
    expect(docs[1]?.properties.url).toBe(`${redacted}?utm_source=email`);
    expect(docs[1]?.properties.path).toBe(`/account/reset/${REDACTED}/${REDACTED}`);
  });
  it('the consumer redacts what an older worker queued unredacted, in stored and in rejected events', async () => {
    // Messages queued before redaction shipped, or by an older version during a gradual deployment.
    const run = runId();
    const token = '3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c-1700000000';
    const reset = `https://shop.example.com/account/reset/6784512345678/${token}`;
    const [event] = storedEvents(run, 1);
    const queuedBefore = {
      ...event,
      context: { page: { url: reset, referrer: reset } },
      properties: { ...event?.properties, url: reset },
    };
    // No event name, type or timestamp: a rejection, whose body is kept for a person to read.
    const poison = { messageId: `${run}-poison`, properties: { url: reset } };
    const batch = batchOf([queuedBefore, poison], `redact-${run}`);
    const ctx = createExecutionContext();
    await worker.queue(batch, workerEnv());
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toHaveLength(2);
    const redacted = `https://shop.example.com/account/reset/${REDACTED}/${REDACTED}`;
    const stored = await withDb((db) =>
      db
        .collection<{ _id: string; context?: { page?: unknown }; properties: Record<string, unknown> }>(
          'events',
        )
        .findOne({ _id: `${run}-0` }),
    );
    expect(stored?.context?.page).toEqual({ url: redacted, referrer: redacted });
    expect(stored?.properties).toMatchObject({ url: redacted, product_id: 'P0', run });
    const rejected = await withDb((db) =>
      db.collection<{ _id: string; raw: string }>('rejected_events').findOne({ _id: `redact-${run}-1` }),
    );
    expect(rejected?.raw).toContain(redacted);
    expect(rejected?.raw).not.toContain(token);
    expect(rejected?.raw).toContain(`${run}-poison`);
  });
});
