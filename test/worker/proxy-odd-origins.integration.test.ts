/**
 * What real origins get wrong, through the proxy in workerd against the test origin's `/raw` answers:
 * charset labels HTMLRewriter refuses, content codings the runtime does not decode, statuses the
 * Response constructor refuses, a plugin tag in <template>, and prices written with numeric
 * references. In each case the shopper gets the shop's page (untouched where it cannot be rewritten),
 * never a 500.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../worker/src/app-env';
import { proxyHandler } from '../../worker/src/proxy';
import {
  BROWSER_UA,
  browserHeaders,
  ORIGIN,
  PUBLIC,
  proxied,
  raw,
  testEnv,
  viaWorker,
} from './proxy-helpers';
import { count } from './proxy-insertions';
import { testSource } from './proxy-test-source';

const PAGE =
  '<!doctype html><html><head><title>Odd</title></head><body>' +
  '<div data-rx-slot="recommendations" data-rx-placement="home"></div><p id="last">end</p></body></html>';

/** Through the proxy (a tracked shopper in the treatment arm), the answer's bytes as they left. */
async function proxiedBytes(path: string): Promise<{ response: Response; bytes: Uint8Array }> {
  const app = new Hono<AppEnv>().all(
    '*',
    proxyHandler({ source: () => testSource(), sendEvents: async () => undefined }),
  );
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`${PUBLIC}${path}`, { headers: { 'user-agent': BROWSER_UA, accept: 'text/html' } }),
    testEnv(),
    ctx,
  );
  const bytes = new Uint8Array(await response.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { response, bytes };
}

async function compressed(format: 'gzip' | 'deflate', text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('proxy: origins that get something wrong', () => {
  it('a charset HTMLRewriter refuses: the untouched page with the origin caching, no page view (it was a 500)', async () => {
    for (const contentType of [
      'text/html; charset=utf8mb4',
      'text/html; charset=latin-1',
      'text/html; charset=unicode',
      'text/html; charset=UTF-8, text/html; charset=UTF-8',
    ]) {
      const { response, body, events } = await proxied(
        raw(PAGE, [`content-type: ${contentType}`, 'cache-control: public, max-age=60']),
        {},
        { deps: { source: () => testSource(), pageViewWaitMs: 200 } },
      );
      expect(response.status, contentType).toBe(200);
      expect(body, contentType).toBe(PAGE);
      expect(response.headers.get('cache-control'), contentType).toBe('public, max-age=60');
      expect(response.headers.get('set-cookie'), contentType).toBeNull();
      expect(events, contentType).toEqual([]);
    }
    // Two Content-Type lines, as a misconfigured server sends them, are the same case.
    const twice = await proxied(
      raw(PAGE, ['content-type: text/html; charset=UTF-8', 'content-type: text/html; charset=UTF-8']),
    );
    expect(twice.response.status).toBe(200);
    expect(twice.body).toBe(PAGE);
  });

  it('an HTML download (Content-Disposition: attachment) is saved as the origin sent it, not rewritten', async () => {
    // An order's invoice or an export as an .html file: the browser saves the bytes, so the worker's tag,
    // stylesheet and blocks would end up inside the shopper's file, and a page view counted for a download.
    for (const disposition of [
      'attachment; filename="invoice-1042.html"',
      'Attachment',
      'attachment;filename=x.html',
    ]) {
      const path = raw(PAGE, [
        'content-type: text/html; charset=utf-8',
        `content-disposition: ${disposition}`,
        'cache-control: public, max-age=60',
      ]);
      const { response, body, events } = await proxied(
        path,
        {},
        { deps: { source: () => testSource(), pageViewWaitMs: 200 } },
      );
      expect(body, disposition).toBe(PAGE);
      expect(response.headers.get('cache-control'), disposition).toBe('public, max-age=60');
      expect(response.headers.get('set-cookie'), disposition).toBeNull();
      expect(events, disposition).toEqual([]);
      const head = await proxied(path, { method: 'HEAD' });
      expect(head.response.headers.get('cache-control'), disposition).toBe('public, max-age=60');
    }
    // `inline` (or a filename alone) is a page the browser shows: rewritten as any other.
    const inline = await proxied(
      raw(PAGE, ['content-type: text/html; charset=utf-8', 'content-disposition: inline; filename="a.html"']),
      {},
      { deps: { source: () => testSource() } },
    );
    expect(inline.body).toContain('<section class="rx-block');
  });

  it('a charset it reads is still personalized (the fallback above is only for refusals)', async () => {
    const { body, events } = await proxied(
      raw(PAGE, ['content-type: text/html; charset=windows-1252']),
      {},
      {
        deps: { source: () => testSource(), pageViewWaitMs: 200 },
      },
    );
    expect(body).toContain('<section class="rx-block');
    expect(events).toHaveLength(1);
  });

  it('a content coding the runtime does not decode passes through as the origin compressed it', async () => {
    const gzip = await compressed('gzip', PAGE);
    const deflate = await compressed('deflate', PAGE);
    for (const [coding, bytes] of [
      ['deflate', deflate],
      ['x-gzip', gzip],
      ['GZIP', gzip],
    ] as const) {
      const { response, bytes: sent } = await proxiedBytes(
        raw(bytes, ['content-type: text/html; charset=utf-8', `content-encoding: ${coding}`]),
      );
      expect(response.status, coding).toBe(200);
      expect(sent, coding).toEqual(bytes);
      expect(response.headers.get('content-encoding'), coding).toBe(coding);
    }
    // gzip as the runtime decodes it is rewritten, as before.
    const { body } = await proxied(
      raw(gzip, ['content-type: text/html; charset=utf-8', 'content-encoding: gzip']),
    );
    expect(body).toContain('<section class="rx-block');
  });

  it('a status outside 200-599 (LinkedIn answers bots 999) is passed on, not turned into a 500', async () => {
    for (const status of [999, 600]) {
      const { response, body } = await proxied(raw('blocked', ['content-type: text/plain'], status));
      expect(response.status).toBe(status);
      expect(body).toBe('blocked');
    }
  });

  it('through the worker, GET and HEAD both get such a status as the origin sent it (HEAD was a 500)', async () => {
    // Hono answers HEAD with `new Response(null, <its GET's answer>)`, which throws for these statuses.
    for (const status of [999, 600]) {
      const path = raw('blocked', ['content-type: text/plain', 'x-origin: yes'], status);
      const get = await viaWorker(path);
      expect(get.response.status, `GET ${status}`).toBe(status);
      expect(get.body, `GET ${status}`).toBe('blocked');
      const head = await viaWorker(path, { method: 'HEAD' });
      expect(head.response.status, `HEAD ${status}`).toBe(status);
      expect(head.response.headers.get('x-origin'), `HEAD ${status}`).toBe('yes');
      expect(head.response.body, `HEAD ${status}`).toBeNull();
    }
  });

  it("a plugin tag inside <template> never runs, so the page still gets the worker's", async () => {
    const page = PAGE.replace('</head>', '<template><script src="/rx.js"></script></template></head>');
    const { body } = await proxied(
      raw(page, ['content-type: text/html; charset=utf-8']),
      {},
      {
        deps: { source: () => testSource() },
      },
    );
    expect(body).toContain('<template><script src="/rx.js"></script></template>');
    expect(body).toContain(
      '<script src="https://shop.example/rx.js" async data-rx-page-view="sent"></script>',
    );
  });

  it("a shop's absolute tag on this host (script mode's https://YOUR-WORKER/rx.js) is ours: told the rules, no second tag", async () => {
    // What docs/plugin.md has script-mode shops paste, kept when the shop moves to proxy mode: the
    // versioned URL too, in any case and with a query, and protocol-relative.
    for (const src of [
      `${PUBLIC}/rx.js`,
      'HTTPS://Shop.Example/rx.js?v=2',
      `${PUBLIC}/rx.0123456789ab.js`,
      '//shop.example/rx.js',
      'https://shop.example:443/rx.js',
    ]) {
      const page = PAGE.replace('</head>', `<script src="${src}" async data-site="demo"></script></head>`);
      const { body } = await proxied(
        raw(page, ['content-type: text/html; charset=utf-8']),
        {},
        { env: { RX_CONSENT: 'required' }, deps: { source: () => testSource() } },
      );
      // The only plugin tag is the shop's, with what the injected one would have said: without
      // `data-consent="required"` the plugin tracked before consent, and without the page-view mark
      // it counted the page view the worker had sent (a consented shopper's) a second time.
      expect(body, src).toContain(
        `<script src="${src}" async data-site="demo" data-consent="required"></script>`,
      );
      expect(count(body, '<script'), src).toBe(1);
      const consented = await proxied(
        raw(page, ['content-type: text/html; charset=utf-8']),
        { headers: browserHeaders({ cookie: 'rx_consent=1' }) },
        { env: { RX_CONSENT: 'required' }, deps: { source: () => testSource() } },
      );
      expect(consented.body, src).toContain(
        `<script src="${src}" async data-site="demo" data-rx-page-view="sent" data-consent="required"></script>`,
      );
      expect(count(consented.body, '<script'), src).toBe(1);
    }
  });

  it("another host's rx.js (a CDN's, or http on an https page) and a relative rx.js do not stop the injection", async () => {
    for (const src of [
      'https://cdn.example/rx.js',
      'http://shop.example/rx.js',
      'https://shop.example.evil.example/rx.js',
      '//cdn.example/rx.js',
      'rx.js',
      `${PUBLIC}/vendor/rx.js`,
    ]) {
      const page = PAGE.replace('</head>', `<script src="${src}"></script></head>`);
      const { body } = await proxied(
        raw(page, ['content-type: text/html; charset=utf-8']),
        {},
        {
          deps: { source: () => testSource() },
        },
      );
      expect(body, src).toContain(`<script src="${src}"></script>`);
      expect(body, src).toContain(
        '<script src="https://shop.example/rx.js" async data-rx-page-view="sent"></script>',
      );
    }
  });

  it("a <base href> elsewhere cannot send the plugin's tag (and its CSP nonce) to another host", async () => {
    const page = PAGE.replace('<title>', '<base href="https://elsewhere.example/"><title>');
    const { body } = await proxied(
      raw(page, [
        'content-type: text/html; charset=utf-8',
        "content-security-policy: script-src 'nonce-shop123'",
      ]),
      {},
      { deps: { source: () => testSource() } },
    );
    const tag = body.match(/<script src="([^"]*)" async nonce="[^"]+"/);
    // Absolute on the public host the page was requested from, so the browser ignores <base>.
    expect(tag?.[1]).toBe(`${PUBLIC}/rx.js`);
    // Whatever public host the shop's domain is: the tag names the one this request came to.
    const app = new Hono<AppEnv>().all(
      '*',
      proxyHandler({ source: () => testSource(), sendEvents: async () => undefined }),
    );
    const ctx = createExecutionContext();
    const other = await app.fetch(
      new Request(`https://www.other-shop.example${raw(page, ['content-type: text/html; charset=utf-8'])}`, {
        headers: { 'user-agent': BROWSER_UA, accept: 'text/html' },
      }),
      testEnv(),
      ctx,
    );
    const otherBody = await other.text();
    await waitOnExecutionContext(ctx);
    expect(otherBody).toContain('<script src="https://www.other-shop.example/rx.js" async');
  });

  it('a price written with numeric references gets the personal price, not digits spliced into a reference', async () => {
    const page = PAGE.replace(
      '<p id="last">',
      '<span data-rx-price data-rx-product-id="85123A">&#163;2.95</span>' +
        '<span data-rx-price data-rx-product-id="85123A">&#xA3;2.95</span><p id="last">',
    );
    const { body } = await proxied(
      raw(page, ['content-type: text/html; charset=utf-8']),
      {},
      {
        deps: { source: () => testSource({ priceFactor: 0.5 }) },
      },
    );
    const prices = [...body.matchAll(/data-rx-product-id="85123A">([^<]*)</g)].map((match) => match[1]);
    expect(prices).toHaveLength(2);
    for (const price of prices) expect(price).toMatch(/^£1\.4[78]$/);
  });
});

it('the raw origin answers what it is told (a check of the fixture itself)', async () => {
  const response = await fetch(
    `${ORIGIN()}${raw('x', ['content-type: text/plain', 'x-a: 1', 'x-a: 2'], 203)}`,
  );
  expect(response.status).toBe(203);
  expect(response.headers.get('x-a')).toBe('1, 2');
  expect(await response.text()).toBe('x');
});
