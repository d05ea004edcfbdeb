import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { createApp } from '../../worker/src/app';
import { originTarget } from '../../worker/src/proxy/origin-url';
import {
  BROWSER_UA,
  browserHeaders,
  direct,
  ORIGIN,
  PUBLIC,
  proxied,
  raw,
  testEnv,
  viaWorker,
} from './proxy-helpers';

const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/**
 * A page of the test origin held part way until this test lets it go on (`?gate=`, test/support/proxy-origin.ts):
 * no clock decides when the origin's stall ends. `open` is safe to call again (a `finally` after a failure).
 */
function originGate(page: string): { name: string; open: () => Promise<void> } {
  const name = `${page}-${crypto.randomUUID()}`;
  let opened = false;
  return {
    name,
    async open() {
      if (opened) return;
      opened = true;
      const answer = await fetch(`${ORIGIN()}/gate/open?name=${name}`, { method: 'POST' });
      expect(answer.status).toBe(204);
    },
  };
}

describe('proxy: pass-through', () => {
  it('passes non-HTML bodies and their caching headers through byte for byte', async () => {
    const ctx = createExecutionContext();
    const response = await createApp().fetch(
      new Request(`${PUBLIC}/image.png`, { headers: { 'user-agent': BROWSER_UA, accept: 'image/avif,*/*' } }),
      testEnv(),
      ctx,
    );
    const bytes = new Uint8Array(await response.arrayBuffer());
    await waitOnExecutionContext(ctx);
    const original = new Uint8Array(await (await fetch(`${ORIGIN()}/image.png`)).arrayBuffer());
    expect(response.status).toBe(200);
    expect(bytes).toEqual(original);
    expect(response.headers.get('cache-control')).toBe('public, max-age=86400');
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('streams request bodies of any method to the origin and sets X-Forwarded-*', async () => {
    const payload = new Uint8Array(256 * 1024).map((_, i) => i % 251);
    const { response, body } = await proxied('/echo?x=1', {
      method: 'PUT',
      body: new Blob([payload]).stream(),
      headers: {
        'user-agent': BROWSER_UA,
        'content-type': 'application/octet-stream',
        'cf-connecting-ip': '203.0.113.7',
        // What a client may claim about forwarding: replaced or dropped, never passed on.
        'x-forwarded-for': '10.0.0.1',
        forwarded: 'for=10.0.0.1;host=evil.example',
        'x-original-url': '/admin',
      },
    });
    const echo = JSON.parse(body) as {
      method: string;
      url: string;
      bodyBytes: number;
      headers: Record<string, string>;
    };
    const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', payload))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    expect(response.status).toBe(200);
    expect(echo.method).toBe('PUT');
    expect(echo.url).toBe('/echo?x=1');
    expect(echo.bodyBytes).toBe(payload.length);
    expect((JSON.parse(body) as { bodySha256: string }).bodySha256).toBe(digest);
    expect(echo.headers['x-forwarded-host']).toBe('shop.example');
    expect(echo.headers['x-forwarded-proto']).toBe('https');
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.7');
    expect(echo.headers.forwarded).toBeUndefined();
    expect(echo.headers['x-original-url']).toBeUndefined();
    expect(echo.headers.host).toBe(new URL(ORIGIN()).host);
  });

  it("drops every client-sent address header: the origin's one client address is X-Forwarded-For", async () => {
    const spoofed = {
      'x-real-ip': '10.0.0.2',
      'true-client-ip': '10.0.0.3',
      'x-client-ip': '10.0.0.4',
      'x-cluster-client-ip': '10.0.0.5',
      'fastly-client-ip': '10.0.0.6',
    };
    const { body } = await proxied('/echo', {
      headers: { 'user-agent': BROWSER_UA, 'cf-connecting-ip': '203.0.113.7', ...spoofed },
    });
    const echo = JSON.parse(body) as { headers: Record<string, string> };
    for (const name of Object.keys(spoofed)) expect(echo.headers[name], name).toBeUndefined();
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.7');
  });

  it('uploads with Expect: 100-continue (curl, Guzzle) reach the origin without the expectation', async () => {
    // The test origin is Node's http server, which answers `100 Continue` to the expectation, as nginx
    // and Apache do; workerd's fetch never resolved after that interim answer, so the upload hung.
    const upload = proxied('/echo', {
      method: 'POST',
      body: 'quantity=2',
      headers: { 'user-agent': 'curl/8.5.0', 'content-type': 'text/plain', expect: '100-continue' },
    });
    const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 3_000));
    const answer = await Promise.race([upload, hung]);
    if (answer === 'hung') expect.fail('the upload through the proxy got no answer in 3 s');
    const echo = JSON.parse(answer.body) as { bodyBytes: number; headers: Record<string, string> };
    expect(answer.response.status).toBe(200);
    expect(echo.bodyBytes).toBe('quantity=2'.length);
    expect(echo.headers.expect).toBeUndefined();
  });

  it('keeps every Set-Cookie separate and drops only a Domain naming the origin host', async () => {
    const { response } = await proxied('/cookies', { headers: { 'user-agent': GOOGLEBOT } });
    const cookies = response.headers.getAll('set-cookie');
    expect(cookies).toEqual([
      'session=abc; Path=/; HttpOnly',
      'pref=x; Path=/',
      'wide=y; Domain=example.com; Path=/',
    ]);
  });

  it('does not follow redirects and rewrites a Location on the origin host to the public host', async () => {
    const absolute = await proxied('/redirect');
    expect(absolute.response.status).toBe(302);
    expect(absolute.response.headers.get('location')).toBe(
      `${PUBLIC}/fixtures/demo-product.html?from=redirect`,
    );
    const relative = await proxied('/relative-redirect');
    expect(relative.response.status).toBe(301);
    expect(relative.response.headers.get('location')).toBe('/fixtures/demo-product.html');
    const elsewhere = await proxied('/elsewhere-redirect');
    expect(elsewhere.response.headers.get('location')).toBe('https://payments.example/checkout');
  });

  it('rewrites a Refresh URL on the origin host to the public host, as Location', async () => {
    const origin = new URL(ORIGIN());
    const { response } = await proxied(
      raw('moved', [
        'content-type: text/plain',
        `refresh: 0; url=${origin.origin}/fixtures/demo-product.html?x=1`,
      ]),
    );
    expect(response.headers.get('refresh')).toBe(`0; url=${PUBLIC}/fixtures/demo-product.html?x=1`);
    expect(response.headers.get('refresh')).not.toContain(origin.host);
  });

  it('rewrites every link of Link headers on the origin host, for a crawler and for a shopper', async () => {
    const origin = new URL(ORIGIN());
    const page = raw('<!doctype html><html><head><title>t</title></head><body><p>x</p></body></html>', [
      'content-type: text/html; charset=utf-8',
      `link: <${origin.origin}/fixtures/demo-product.html>; rel="canonical"`,
      `link: <${origin.origin}/rx-test.css>; rel=preload; as=style, <https://cdn.example/f.woff2>; rel=preload; as=font`,
      'link: </app.js>; rel=preload; as=script',
    ]);
    const expected = [
      `<${PUBLIC}/fixtures/demo-product.html>; rel="canonical"`,
      `<${PUBLIC}/rx-test.css>; rel=preload; as=style, <https://cdn.example/f.woff2>; rel=preload; as=font`,
      '</app.js>; rel=preload; as=script',
    ].join(', ');
    // Search engines would index the private origin host from a canonical link naming it.
    const crawler = await proxied(page, { headers: { 'user-agent': GOOGLEBOT } });
    expect(crawler.response.headers.get('link')).toBe(expected);
    const shopper = await proxied(page);
    expect(shopper.body).toContain('rx.js');
    expect(shopper.response.headers.get('link')).toBe(expected);
    expect(shopper.response.headers.get('link')).not.toContain(origin.host);
  });

  it('drops hop-by-hop response headers, including ones named by Connection', async () => {
    const { response, body } = await proxied('/hop-by-hop');
    expect(body).toBe('ok');
    expect(response.headers.get('x-kept')).toBe('yes');
    expect(response.headers.get('x-secret-hop')).toBeNull();
    expect(response.headers.get('keep-alive')).toBeNull();
  });

  it('answers HEAD with the headers and no body', async () => {
    const { response } = await proxied('/fixtures/demo-product.html', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toBe('');
  });

  it('passes Range requests through as the origin answers them (206, untouched slice)', async () => {
    const { response, body } = await proxied('/range.html', {
      headers: { 'user-agent': BROWSER_UA, range: 'bytes=3-9' },
    });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 3-9/104');
    expect(body).toBe('defghij');
  });

  it('passes a 304 through for a conditional request that is not personalized', async () => {
    const { response, body } = await proxied('/conditional', {
      headers: { 'user-agent': GOOGLEBOT, 'if-none-match': '"v1"' },
    });
    expect(response.status).toBe(304);
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(body).toBe('');
  });

  it("fetches a held-out shopper's page in full whatever validator the browser holds, cached as treatment's", async () => {
    // The validator of the page this browser got before it was tracked (consent pending): a 304 would
    // show that page again, and its view would not be counted.
    const { response, body, events } = await proxied(
      '/conditional',
      { headers: { 'user-agent': BROWSER_UA, 'if-none-match': 'W/"v1"' } },
      { env: { HOLDOUT_PERCENT: '100' } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('private');
    expect(body).toContain('data-rx-page-view="sent"');
    expect(events).toHaveLength(1);
  });

  it("answers an untracked shopper's revalidation with the weak validator, and no policy to replace the stored one", async () => {
    const csp = "style-src 'self'";
    const options = { env: { RX_CONSENT: 'required' } };
    const page = await proxied(`/conditional?csp=${encodeURIComponent(csp)}`, {}, options);
    // A copy shared caches may keep: the stylesheet is let in by its hash, not a nonce of ours
    // (proxy-csp-shared-cache.integration.test.ts).
    expect(page.response.headers.get('content-security-policy')).toMatch(/^style-src 'self' 'sha256-[^']+'$/);
    const etag = page.response.headers.get('etag');
    expect(etag).toBe('W/"v1"');
    // The origin's caching stays, so the copy must not be reused once the shopper consents (the
    // `rx_consent` cookie) and gets the tracked page (the origin's own Vary kept: next test).
    expect(page.response.headers.get('cache-control')).toBe('public, max-age=60');
    expect(page.response.headers.get('vary')).toBe('Cookie');
    const again = await proxied(
      `/conditional?csp=${encodeURIComponent(csp)}`,
      { headers: { 'user-agent': BROWSER_UA, 'if-none-match': etag ?? '' } },
      options,
    );
    expect(again.response.status).toBe(304);
    expect(again.response.headers.get('etag')).toBe('W/"v1"');
    expect(again.response.headers.get('vary')).toBe('Cookie');
    // The browser keeps the stored page's policy, whose nonce lets its style in.
    expect(again.response.headers.get('content-security-policy')).toBeNull();
  });

  it("varies an untracked shopper's page by Sec-GPC under RX_HONOUR_GPC, and leaves a crawler's headers the origin's", async () => {
    const page = raw('<!doctype html><html><head></head><body><p>x</p></body></html>', [
      'content-type: text/html; charset=utf-8',
      'cache-control: public, max-age=600',
      'vary: accept-encoding, sec-gpc',
    ]);
    const gpcOnly = { env: { RX_HONOUR_GPC: 'true' } };
    const gpc = await proxied(page, { headers: browserHeaders({ 'sec-gpc': '1' }) }, gpcOnly);
    expect(gpc.body).toContain('data-gpc');
    expect(gpc.response.headers.get('cache-control')).toBe('public, max-age=600');
    // Sec-GPC alone decides here; the origin already named it, so it is not repeated.
    expect(gpc.response.headers.get('vary')).toBe('accept-encoding, sec-gpc');
    const both = await proxied(
      raw('<!doctype html><html><head></head><body><p>x</p></body></html>', [
        'content-type: text/html; charset=utf-8',
        'cache-control: public, max-age=600',
        'vary: Accept-Encoding',
      ]),
      {},
      { env: { RX_HONOUR_GPC: 'true', RX_CONSENT: 'required' } },
    );
    expect(both.body).toContain('data-consent="required"');
    expect(both.response.headers.get('vary')).toBe('Accept-Encoding, Cookie, Sec-GPC');
    // No User-Agent, and nothing added to what a crawler gets.
    const crawler = await proxied(page, { headers: { 'user-agent': GOOGLEBOT } }, gpcOnly);
    expect(crawler.response.headers.get('vary')).toBe('accept-encoding, sec-gpc');
    const plain = await proxied(
      '/fixtures/demo-category.html',
      { headers: { 'user-agent': GOOGLEBOT } },
      {
        env: { RX_CONSENT: 'required', RX_HONOUR_GPC: 'true' },
      },
    );
    const original = await direct('/fixtures/demo-category.html');
    expect(plain.response.headers.get('vary')).toBe(original.response.headers.get('vary'));
  });

  it('serves a personalized page in full even when the browser sends a validator', async () => {
    const { response, body } = await proxied('/conditional', {
      headers: { 'user-agent': BROWSER_UA, 'if-none-match': '"v1"' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('private');
    expect(body).toContain('data-rx-price');
  });

  it('streams: the first part of a slow page arrives before the origin has sent the rest', async () => {
    for (const userAgent of [BROWSER_UA, GOOGLEBOT]) {
      // The origin sends the rest only once this test opens the gate, after the first part came through.
      const gate = originGate('slow-page');
      const ctx = createExecutionContext();
      try {
        const response = await createApp().fetch(
          new Request(`${PUBLIC}/slow-page?gate=${gate.name}`, {
            headers: { 'user-agent': userAgent, accept: 'text/html' },
          }),
          testEnv(),
          ctx,
        );
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let first = '';
        while (!first.includes('<p>first</p>')) {
          const { value, done } = await reader.read();
          expect(done, `the page ended before its first part came: ${first}`).toBe(false);
          first += decoder.decode(value, { stream: true });
        }
        expect(first).not.toContain('second');
        await gate.open();
        let rest = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          rest += decoder.decode(value, { stream: true });
        }
        expect(rest).toContain('<p>second</p>');
        await waitOnExecutionContext(ctx);
      } finally {
        await gate.open();
      }
    }
  });

  it("never holds a page's first byte for its charset: a head that stalls before saying it passes through untouched", async () => {
    // No charset in the Content-Type, part of the head flushed, then the origin's own work, which lasts
    // until this test opens its gate: the flushed part must come through while the origin still holds
    // the rest. Held for the charset, it would never come (audit: it came only after the origin's whole
    // stall); the test's timeout then fails it.
    const gate = originGate('stalled-head');
    const ctx = createExecutionContext();
    try {
      const response = await createApp().fetch(
        new Request(`${PUBLIC}/stalled-head?gate=${gate.name}`, { headers: browserHeaders() }),
        testEnv(),
        ctx,
      );
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const flushed = '<link rel="preload" href="/app.css" as="style">';
      let body = '';
      while (!body.includes(flushed)) {
        const { value, done } = await reader.read();
        expect(done, `the page ended before its flushed head came: ${body}`).toBe(false);
        body += decoder.decode(value, { stream: true });
      }
      // The gate is still shut: what came is the origin's flushed head, none of the rest.
      expect(body).not.toContain('<meta name="description"');
      await gate.open();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        body += decoder.decode(next.value, { stream: true });
      }
      body += decoder.decode();
      await waitOnExecutionContext(ctx);
      // Not known in time, so not rewritten (a guessed charset could corrupt the shop's text): the page as
      // a crawler gets it, with the origin's caching and no cookie.
      expect(body).toBe((await direct('/stalled-head?ms=0')).body);
      expect(response.headers.get('cache-control')).toBe('public, max-age=60');
      expect(response.headers.get('set-cookie')).toBeNull();
    } finally {
      await gate.open();
    }
  });

  it('passes WebSocket upgrades through to the origin', async () => {
    const ctx = createExecutionContext();
    const response = await createApp().fetch(
      new Request(`${PUBLIC}/socket`, { headers: { upgrade: 'websocket', 'user-agent': BROWSER_UA } }),
      testEnv(),
      ctx,
    );
    expect(response.status).toBe(101);
    const socket = response.webSocket;
    expect(socket).toBeTruthy();
    if (!socket) return;
    socket.accept();
    const reply = new Promise<string>((resolve) => {
      socket.addEventListener('message', (event) => resolve(String(event.data)));
    });
    socket.send('hello');
    expect(await reply).toBe('echo:hello');
    socket.close();
    await waitOnExecutionContext(ctx);
  });
});

describe('proxy: WebSocket handshakes the origin redirects', () => {
  it('are not followed (the runtime would follow them anywhere, cookies and all): the redirect comes back', async () => {
    const ctx = createExecutionContext();
    const response = await createApp().fetch(
      new Request(`${PUBLIC}/socket-redirect`, {
        headers: { upgrade: 'websocket', 'user-agent': BROWSER_UA, cookie: 'session=secret' },
      }),
      testEnv(),
      ctx,
    );
    expect(response.status).toBe(302);
    expect(response.webSocket).toBeNull();
    expect(response.headers.get('location')).toBe('https://shop.example/echo');
    await response.body?.cancel();
    await waitOnExecutionContext(ctx);
  });
});

describe('proxy: only ever the configured origin', () => {
  it('builds targets on the origin for path tricks and absolute-form URLs', () => {
    const origin = new URL('https://origin.shop.example/base/');
    for (const tricky of [
      'https://shop.example//evil.example/x',
      'https://shop.example/\\\\evil.example/x',
      'https://evil.example/steal?x=1',
      'https://shop.example/%2F%2Fevil.example',
      'https://shop.example/..//..//evil.example',
    ]) {
      const target = originTarget(new URL(tricky), origin);
      expect(target.origin).toBe('https://origin.shop.example');
      expect(target.pathname.startsWith('/base/')).toBe(true);
    }
  });

  it('ignores a forged Host header and reaches the origin', async () => {
    const { body } = await proxied('/echo', { headers: { 'user-agent': GOOGLEBOT, host: 'evil.example' } });
    const echo = JSON.parse(body) as { headers: Record<string, string> };
    expect(echo.headers.host).toBe(new URL(ORIGIN()).host);
  });

  it('answers 502 origin_unreachable when the origin is down: a short page for a browser, JSON otherwise', async () => {
    // A loopback port found free by the global setup (proxy-origin.global-setup.ts): connection refused.
    const vars = { ORIGIN_URL: inject('closedOriginUrl') };
    // A browser's navigation (a shopper in the treatment arm: its page's lookups had started).
    const page = await viaWorker('/products/85123A', {}, vars);
    expect(page.response.status).toBe(502);
    expect(page.response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.response.headers.get('cache-control')).toBe('no-store');
    expect(page.response.headers.get('retry-after')).toBe('30');
    expect(page.body).toContain('<h1>This shop is temporarily unavailable</h1>');
    expect(page.body).toContain('origin_unreachable');
    expect(page.body).not.toContain(new URL(inject('closedOriginUrl')).host);

    const api = await viaWorker(
      '/cart.js',
      { headers: { ...browserHeaders(), accept: 'application/json' } },
      vars,
    );
    expect(api.response.status).toBe(502);
    expect(api.response.headers.get('cache-control')).toBe('no-store');
    expect(api.response.headers.get('retry-after')).toBe('30');
    expect(JSON.parse(api.body)).toEqual({
      error: { code: 'origin_unreachable', message: 'The shop could not be reached', details: [] },
    });
    const post = await viaWorker('/cart/add', { method: 'POST', body: 'id=1' }, vars);
    expect(post.response.status).toBe(502);
  });

  it('never proxies the worker paths, and proxies nothing without ORIGIN_URL', async () => {
    const health = await viaWorker('/healthz');
    expect(health.response.headers.get('cache-control')).toBe('no-store');
    const api = await viaWorker('/v1/nope');
    expect(api.response.status).toBe(404);
    expect(JSON.parse(api.body)).toMatchObject({ error: { code: 'not_found' } });
    const off = await viaWorker('/fixtures/demo-product.html', {}, { ORIGIN_URL: '' });
    expect(off.response.status).toBe(404);
  });

  it("passes a script's HTML fragment through byte for byte from a browser that sends no Sec-Fetch-Dest", async () => {
    // A cart drawer fetched by jQuery in Safari before 16.4: no page view, no tag, the origin's caching.
    const { response, body, events } = await proxied('/fixtures/demo-category.html', {
      headers: browserHeaders({ accept: 'text/html, */*; q=0.01', 'x-requested-with': 'XMLHttpRequest' }),
    });
    const original = await direct('/fixtures/demo-category.html');
    expect(body).toBe(original.body);
    expect(response.headers.get('cache-control')).toBe('public, max-age=600');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(events).toEqual([]);
  });

  it('matches the origin byte for byte for crawlers', async () => {
    const { response, body } = await proxied('/fixtures/demo-category.html', {
      headers: { 'user-agent': GOOGLEBOT },
    });
    const original = await direct('/fixtures/demo-category.html');
    expect(body).toBe(original.body);
    expect(response.headers.get('cache-control')).toBe('public, max-age=600');
    expect(response.headers.get('etag')).toBe(original.response.headers.get('etag'));
    expect(response.headers.get('set-cookie')).toBeNull();
  });
});
