/**
 * An untracked shopper's page (consent pending, GPC) keeps the origin's caching, so a shared cache in
 * front of the worker may keep one copy and hand it to every such shopper: the Content-Security-Policy
 * decision must not put a nonce of ours in it (docs/proxy.md "Shops with a Content-Security-Policy").
 */
import { describe, expect, it, vi } from 'vitest';
import { browserHeaders, type ProxiedResponse, proxied, raw, viaWorker } from './proxy-helpers';
import { testSource } from './proxy-test-source';

/** Consent pending: the shopper's page is untracked (no `rx_consent` cookie). */
const UNTRACKED = { RX_CONSENT: 'required' };
const CONSENTED = { cookie: 'rx_consent=1' };
const FRESH_NONCE = /^[A-Za-z0-9+/]{22}==$/;

const PAGE_BODY =
  '<!doctype html><html><head><title>t</title>__META__</head><body>' +
  '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A"></div>' +
  '</body></html>';

/** A page under `csp` (header) with these caching headers, and `meta` policies in its head. */
function shopPage(csp: string | null, caching: string[], meta: string[] = []): string {
  const metas = meta.map((policy) => `<meta http-equiv="Content-Security-Policy" content="${policy}">`);
  return raw(PAGE_BODY.replace('__META__', metas.join('')), [
    'content-type: text/html; charset=utf-8',
    ...(csp === null ? [] : [`content-security-policy: ${csp}`]),
    ...caching,
  ]);
}

/** The page as a shopper gets it: untracked unless `cookie` says consent was given. */
function get(path: string, init: RequestInit = {}, tracked = false): Promise<ProxiedResponse> {
  const headers = browserHeaders(tracked ? CONSENTED : {});
  return proxied(
    path,
    { headers, ...init },
    { env: UNTRACKED, deps: { nonPersonalSource: () => testSource() } },
  );
}

function injected(body: string): { scriptNonce?: string; styleNonce?: string; styleText?: string } {
  const script = /<script src="https:\/\/shop\.example\/rx\.js" async(?: nonce="([^"]+)")?/.exec(body);
  const style = /<style data-rx-styles(?: nonce="([^"]+)")?>([^<]*)<\/style>/.exec(body);
  return { scriptNonce: script?.[1], styleNonce: style?.[1], styleText: style?.[2] };
}

/** `'sha256-…'` of the text, as a browser hashes an inline `<style>`. */
async function hashSource(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
}

const ORIGIN_CACHING = 'public, max-age=600, s-maxage=3600, stale-while-revalidate=30';
const SHARED_CACHING = [
  `cache-control: ${ORIGIN_CACHING}`,
  'cdn-cache-control: max-age=86400',
  'surrogate-control: max-age=86400',
  'etag: "v7"',
  'last-modified: Tue, 01 Dec 2026 10:00:00 GMT',
];

/** Our own nonces written as `OURS`, so two answers' policies compare. */
function withoutFreshNonces(text: string | null): string | null {
  return text?.replace(/'nonce-[A-Za-z0-9+/]{22}=='/g, "'nonce-OURS'") ?? null;
}

describe("proxy: an untracked shopper's page a shared cache may keep, under a CSP", () => {
  it("lets the stylesheet in by its hash, not a nonce of ours: the copy is every shopper's, with the origin's caching", async () => {
    const path = shopPage("default-src 'self'", SHARED_CACHING);
    const first = await get(path);
    const { scriptNonce, styleNonce, styleText } = injected(first.body);
    expect(styleText).toBeDefined();
    expect(scriptNonce).toBeUndefined(); // /rx.js is allowed by 'self'
    expect(styleNonce).toBeUndefined();
    // Browsers hash an inline style's text as is: the source added is that of what the page carries.
    const policy = `default-src 'self' ${await hashSource(styleText ?? '')}`;
    expect(first.response.headers.get('content-security-policy')).toBe(policy);
    expect(first.response.headers.get('cache-control')).toBe(ORIGIN_CACHING);
    expect(first.response.headers.get('cdn-cache-control')).toBe('max-age=86400');
    expect(first.response.headers.get('etag')).toBe('W/"v7"');
    // Nothing in it differs from one answer to the next: what a cache hands on gives nobody a secret.
    const second = await get(path);
    expect(second.response.headers.get('content-security-policy')).toBe(policy);
    expect(second.body).toBe(first.body);
  });

  it("reuses the nonce the shop's policy names for our script (already in that copy); its directive stays as it was", async () => {
    const csp = "script-src 'nonce-shopN0nce+/=' 'strict-dynamic'; style-src 'self'; object-src 'none'";
    const { response, body } = await get(shopPage(csp, SHARED_CACHING));
    const { scriptNonce, styleText } = injected(body);
    expect(scriptNonce).toBe('shopN0nce+/=');
    expect(response.headers.get('content-security-policy')).toBe(
      `script-src 'nonce-shopN0nce+/=' 'strict-dynamic'; style-src 'self' ${await hashSource(styleText ?? '')}; object-src 'none'`,
    );
    expect(response.headers.get('cache-control')).toBe(ORIGIN_CACHING);
  });

  it('mints a nonce only where the shop has none to reuse, and then sends the page for the browser alone', async () => {
    for (const csp of [
      // Hash-based, as static (cacheable) shops write a strict policy.
      "script-src 'strict-dynamic' 'sha256-AAAA'; style-src 'self'",
      // Two policies naming different nonces: our one tag cannot carry both.
      "script-src 'nonce-aaaa' 'strict-dynamic', script-src 'nonce-bbbb' 'strict-dynamic'",
    ]) {
      const { response, body } = await get(shopPage(csp, SHARED_CACHING));
      const nonce = injected(body).scriptNonce ?? '';
      expect(nonce, csp).toMatch(FRESH_NONCE);
      expect(response.headers.get('content-security-policy')).toContain(`'nonce-${nonce}'`);
      // The browser keeps it as the origin said (max-age, stale-while-revalidate); no shared cache does.
      expect(response.headers.get('cache-control'), csp).toBe(
        'private, max-age=600, stale-while-revalidate=30',
      );
      expect(response.headers.get('cdn-cache-control')).toBeNull();
      expect(response.headers.get('surrogate-control')).toBeNull();
      expect(response.headers.get('etag')).toBe('W/"v7"');
      expect(response.headers.get('last-modified')).toBe('Tue, 01 Dec 2026 10:00:00 GMT');
      expect(response.headers.get('vary')).toBe('Cookie');
    }
  });

  it('leaves the caching of a page the origin keeps from shared caches alone (fresh nonces as for tracked pages); a CDN header that would keep it counts', async () => {
    const csp = "script-src 'strict-dynamic' 'sha256-AAAA'; style-src 'self'";
    for (const caching of ['private, max-age=60', 'no-store']) {
      const { response, body } = await get(shopPage(csp, [`cache-control: ${caching}`]));
      const { scriptNonce, styleNonce } = injected(body);
      expect(scriptNonce).toMatch(FRESH_NONCE);
      expect(styleNonce).toBe(scriptNonce);
      expect(response.headers.get('cache-control')).toBe(caching);
    }
    const cdnKept = await get(shopPage(csp, ['cache-control: private', 'cdn-cache-control: max-age=600']));
    expect(injected(cdnKept.body).scriptNonce).toMatch(FRESH_NONCE);
    expect(cdnKept.response.headers.get('cache-control')).toBe('private');
    expect(cdnKept.response.headers.get('cdn-cache-control')).toBeNull();
  });

  it('keeps a page without a policy, or whose policy needs nothing of ours, exactly as cacheable', async () => {
    for (const csp of [null, "script-src 'self'; style-src 'self' 'unsafe-inline'"]) {
      const { response, body } = await get(shopPage(csp, SHARED_CACHING));
      expect(injected(body).styleText).toBeDefined();
      expect(response.headers.get('content-security-policy')).toBe(csp);
      expect(response.headers.get('cache-control')).toBe(ORIGIN_CACHING);
      expect(response.headers.get('cdn-cache-control')).toBe('max-age=86400');
    }
  });

  it('answers HEAD with the policy and caching its GET gets, for tracked and untracked shoppers', async () => {
    for (const csp of ["default-src 'self'", "script-src 'strict-dynamic' 'sha256-AAAA'; style-src 'self'"]) {
      for (const tracked of [false, true]) {
        const path = shopPage(csp, SHARED_CACHING);
        const got = (await get(path, {}, tracked)).response.headers;
        const head = (await get(path, { method: 'HEAD' }, tracked)).response.headers;
        const label = `${csp} tracked=${tracked}`;
        expect(withoutFreshNonces(head.get('content-security-policy')), label).toBe(
          withoutFreshNonces(got.get('content-security-policy')),
        );
        expect(head.get('cache-control'), label).toBe(got.get('cache-control'));
        expect(head.get('cdn-cache-control'), label).toBe(got.get('cdn-cache-control'));
      }
    }
  });

  it('answers a revalidation of a page sent for the browser alone with the same caching', async () => {
    const csp = encodeURIComponent("script-src 'strict-dynamic' 'sha256-AAAA'");
    const page = await get(`/conditional?csp=${csp}`);
    expect(page.response.headers.get('cache-control')).toBe('private, max-age=60');
    const etag = page.response.headers.get('etag') ?? '';
    const again = await get(`/conditional?csp=${csp}`, {
      headers: browserHeaders({ 'if-none-match': etag }),
    });
    expect(again.response.status).toBe(304);
    expect(again.response.headers.get('cache-control')).toBe('private, max-age=60');
    expect(again.response.headers.get('content-security-policy')).toBeNull();
  });
});

describe("proxy: a <meta> policy on an untracked shopper's page a shared cache may keep", () => {
  it("lets the script in by the shop's own nonce, the stylesheet by its hash", async () => {
    // No caching headers at all: a 200 is heuristically cacheable, so a shared cache may keep it.
    const meta = "script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'self'";
    const { response, body } = await get(shopPage(null, [], [meta]));
    const { scriptNonce, styleText } = injected(body);
    expect(scriptNonce).toBe('shop-nonce');
    expect(body).toContain(`content="${meta} ${await hashSource(styleText ?? '')}"`);
    expect(response.headers.get('cache-control')).toBeNull();
  });

  it('keeps the script out where only a nonce of ours would let it in (the headers already went out), and says so', async () => {
    const meta = "script-src 'strict-dynamic' 'sha256-AAAA'";
    const warn = vi.spyOn(console, 'warn');
    let lines: string[];
    let page: ProxiedResponse;
    try {
      page = await get(shopPage(null, SHARED_CACHING, [meta]));
      lines = warn.mock.calls.map((call) => String(call[0]));
    } finally {
      warn.mockRestore();
    }
    expect(page.body).not.toContain('/rx.js');
    expect(page.body).not.toContain("'nonce-");
    expect(page.body).toContain(`content="${meta}"`);
    expect(injected(page.body).styleText).toBeDefined(); // the stylesheet is not governed here
    expect(page.response.headers.get('cache-control')).toBe(ORIGIN_CACHING);
    expect(lines.some((line) => line.includes('proxy_csp_refused') && line.includes('shared cache'))).toBe(
      true,
    );
    const health = JSON.parse((await viaWorker('/healthz')).body) as {
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(health.components.csp?.status).toBe('degraded');
    expect(health.components.csp?.detail).toMatch(/^Content-Security-Policy script-src: a nonce added here/);
  });

  it('gets the nonce of ours the header already made the page private for', async () => {
    const header = "script-src 'strict-dynamic' 'sha256-AAAA'";
    const meta = "script-src 'strict-dynamic' 'sha256-BBBB'";
    const { response, body } = await get(shopPage(header, SHARED_CACHING, [meta]));
    const nonce = injected(body).scriptNonce ?? '';
    expect(nonce).toMatch(FRESH_NONCE);
    expect(body).toContain(`content="${meta} 'nonce-${nonce}'"`);
    expect(response.headers.get('cache-control')).toMatch(/^private,/);
  });
});
