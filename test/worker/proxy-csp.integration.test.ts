/**
 * Proxy mode under the shop's Content-Security-Policy (docs/proxy.md "Shops with a
 * Content-Security-Policy"): the test origin's `/csp-page` carries the policies each test names.
 */
import { describe, expect, it, vi } from 'vitest';
import type { Env } from '../../worker/src/env';
import type { Recommendations } from '../../worker/src/proxy';
import { parseProxyConfig } from '../../worker/src/proxy/config';
import { pageCsp } from '../../worker/src/proxy/csp';
import { Deadline } from '../../worker/src/proxy/deadline';
import { PageSession } from '../../worker/src/proxy/page-session';
import { pageRewriter } from '../../worker/src/proxy/rewriter';
import { direct, type ProxiedResponse, proxied, viaWorker } from './proxy-helpers';
import { count, withoutInsertions } from './proxy-insertions';
import { productById, testSource } from './proxy-test-source';

/** The page's price at the test source's half price, as the proxy writes it. */
const HALF_PRICE = `£${(Math.round(productById('85123A').price * 50) / 100).toFixed(2)}</span>`;

const NONCE_SOURCE = /'nonce-([A-Za-z0-9+/]{22}==)'/;

/** The page under these policies (`csp`: header lines; `ro`: Report-Only lines; `meta`: in the head). */
function cspPath({ csp = [], ro = [], meta = [] }: { csp?: string[]; ro?: string[]; meta?: string[] }) {
  const query = new URLSearchParams();
  for (const value of csp) query.append('csp', value);
  for (const value of ro) query.append('csp-ro', value);
  for (const value of meta) query.append('meta', value);
  return `/csp-page?${query}`;
}

/** A treatment shopper's page (`priceFactor` below 1: personal prices, which rewrite the page's). */
function page(path: string, env: Partial<Env> = {}, priceFactor = 1): Promise<ProxiedResponse> {
  return proxied(path, {}, { deps: { source: () => testSource({ priceFactor }) }, env });
}

/** The nonce our injected tags carry (both the same), or null when they carry none. */
function injectedNonce(body: string): string | null {
  const script = /<script src="\/rx\.js" async(?: nonce="([^"]+)")?/.exec(body);
  const style = /<style data-rx-styles(?: nonce="([^"]+)")?>/.exec(body);
  if (script && style) expect(style[1]).toBe(script[1]);
  return script?.[1] ?? style?.[1] ?? null;
}

async function cspHealth(): Promise<{ status: string; detail?: string }> {
  const { body } = await viaWorker('/healthz');
  return (JSON.parse(body) as { components: Record<string, { status: string; detail?: string }> }).components
    .csp as { status: string; detail?: string };
}

/** The `proxy_csp_refused` lines console.warn got while `run` ran. */
async function cspLogLines(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const warn = vi.spyOn(console, 'warn');
  try {
    await run();
    return warn.mock.calls.flatMap((call) => {
      try {
        const line = JSON.parse(String(call[0])) as Record<string, unknown>;
        return line.event === 'proxy_csp_refused' ? [line] : [];
      } catch {
        return [];
      }
    });
  } finally {
    warn.mockRestore();
  }
}

describe('proxy: pages without a Content-Security-Policy', () => {
  it('get no nonce and no policy: only the usual insertions', async () => {
    const path = cspPath({});
    const { response, body } = await page(path);
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(injectedNonce(body)).toBeNull();
    expect(count(body, '<section class="rx-block')).toBe(1);
    expect(withoutInsertions(body)).toBe((await direct(path)).body);
  });
});

describe('proxy: a nonce-based policy', () => {
  const policy =
    "script-src 'nonce-shop-nonce' 'strict-dynamic' https:; style-src 'self' 'nonce-shop-nonce'; object-src 'none'; base-uri 'none'";

  it('gets a fresh nonce in the directives our tags need, and our script and stylesheet carry it', async () => {
    const path = cspPath({ csp: [policy] });
    const { response, body } = await page(path);
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    expect(nonce).not.toBe('');
    // The origin's policy, byte for byte, plus our nonce at the end of the two directives.
    expect(header).toBe(
      `script-src 'nonce-shop-nonce' 'strict-dynamic' https: 'nonce-${nonce}'; ` +
        `style-src 'self' 'nonce-shop-nonce' 'nonce-${nonce}'; object-src 'none'; base-uri 'none'`,
    );
    expect(injectedNonce(body)).toBe(nonce);
    expect(count(body, '<section class="rx-block')).toBe(1);
    expect(withoutInsertions(body)).toBe((await direct(path)).body);

    const again = await page(path);
    const second = NONCE_SOURCE.exec(again.response.headers.get('content-security-policy') ?? '')?.[1];
    expect(second).toBeDefined();
    expect(second).not.toBe(nonce);
    expect(injectedNonce(again.body)).toBe(second);
  });

  it('extends each policy that needs it, several headers or one with commas, and reads names in any case', async () => {
    const first = "Script-Src 'self'";
    const second = "SCRIPT-SRC 'NONCE-shop-nonce' 'Strict-Dynamic'; STYLE-SRC 'self'";
    for (const csp of [[first, second], [`${first}, ${second}`]]) {
      const { response, body } = await page(cspPath({ csp }));
      const header = response.headers.get('content-security-policy') ?? '';
      const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
      // The first policy already allows /rx.js ('self') and says nothing of styles: left as it was.
      expect(header).toBe(
        `Script-Src 'self', SCRIPT-SRC 'NONCE-shop-nonce' 'Strict-Dynamic' 'nonce-${nonce}'; STYLE-SRC 'self' 'nonce-${nonce}'`,
      );
      expect(injectedNonce(body)).toBe(nonce);
    }
  });

  it('adds to the first of repeated directives (the one browsers use), and to default-src when it governs', async () => {
    const { response, body } = await page(
      cspPath({ csp: ["script-src 'nonce-a'; script-src 'self'; default-src 'self'"] }),
    );
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    expect(header).toBe(
      `script-src 'nonce-a' 'nonce-${nonce}'; script-src 'self'; default-src 'self' 'nonce-${nonce}'`,
    );
    expect(injectedNonce(body)).toBe(nonce);
  });

  it("for a held-out shopper's page (the script alone) extends only the script's directive", async () => {
    const { response, body } = await page(cspPath({ csp: [policy] }), { HOLDOUT_PERCENT: '100' });
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    expect(header).toBe(
      `script-src 'nonce-shop-nonce' 'strict-dynamic' https: 'nonce-${nonce}'; ` +
        "style-src 'self' 'nonce-shop-nonce'; object-src 'none'; base-uri 'none'",
    );
    // The worker sends held-out pages' views too (proxy.ts), so the plugin is told so here as well.
    expect(body).toContain(
      `<script src="https://shop.example/rx.js" async nonce="${nonce}" data-rx-page-view="sent"></script></head>`,
    );
    expect(body).not.toContain('<style data-rx-styles');
  });
});

describe('proxy: policies that already allow our tags, or do not block', () => {
  it("'unsafe-inline' with 'self': header untouched, tags injected without a nonce", async () => {
    const csp = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'";
    const path = cspPath({ csp: [csp] });
    const { response, body } = await page(path);
    expect(response.headers.get('content-security-policy')).toBe(csp);
    expect(injectedNonce(body)).toBeNull();
    expect(count(body, '<script src="https://shop.example/rx.js"')).toBe(1);
    expect(count(body, '<style data-rx-styles>')).toBe(1);
    expect(withoutInsertions(body)).toBe((await direct(path)).body);
  });

  it('a policy naming no script or style directive (frame-ancestors, upgrades) is left as it is', async () => {
    const csp = "block-all-mixed-content; frame-ancestors 'none'; upgrade-insecure-requests;";
    const { response, body } = await page(cspPath({ csp: [csp] }));
    expect(response.headers.get('content-security-policy')).toBe(csp);
    expect(injectedNonce(body)).toBeNull();
  });

  it('Content-Security-Policy-Report-Only blocks nothing and is left untouched', async () => {
    const ro = "script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'none'";
    const { response, body } = await page(cspPath({ ro: [ro] }));
    expect(response.headers.get('content-security-policy-report-only')).toBe(ro);
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(injectedNonce(body)).toBeNull();
    expect(count(body, '<script src="https://shop.example/rx.js"')).toBe(1);
  });
});

describe('proxy: policies that would have to be weakened', () => {
  it("'unsafe-inline' without our host: no script (said once, /healthz csp degraded), the page otherwise personalized", async () => {
    const csp = "script-src 'unsafe-inline' https://cdn.shop.example; style-src 'self' 'unsafe-inline'";
    const path = cspPath({ csp: [csp] });
    const pages: ProxiedResponse[] = [];
    const lines = await cspLogLines(async () => {
      pages.push(await page(path, {}, 0.5), await page(path, {}, 0.5));
    });
    for (const { response, body } of pages) {
      expect(response.headers.get('content-security-policy')).toBe(csp);
      expect(body).not.toContain('/rx.js');
      expect(body).toContain('<style data-rx-styles>');
      expect(count(body, '<section class="rx-block')).toBe(1);
      expect(body).toContain(HALF_PRICE);
    }
    expect(lines).toEqual([
      {
        level: 'warn',
        event: 'proxy_csp_refused',
        element: 'script',
        directive: 'script-src',
        reason: "'unsafe-inline' without a nonce or hash, and this host not allowed",
      },
    ]);
    const health = await cspHealth();
    expect(health.status).toBe('degraded');
    expect(health.detail).toBe(
      "Content-Security-Policy script-src: 'unsafe-inline' without a nonce or hash, and this host not allowed; /rx.js not injected, nothing tracked in the browser",
    );
  });

  it("refuses in every policy or none: one policy relying on 'unsafe-inline' keeps the script out of all", async () => {
    const csp = ["script-src 'nonce-shop-nonce'; style-src 'nonce-shop-nonce'", "script-src 'unsafe-inline'"];
    const { response, body } = await page(cspPath({ csp }));
    const header = response.headers.get('content-security-policy') ?? '';
    const nonce = NONCE_SOURCE.exec(header)?.[1] ?? '';
    // The stylesheet still needs (and gets) the nonce; the script's directive is left alone.
    expect(header).toBe(
      `script-src 'nonce-shop-nonce'; style-src 'nonce-shop-nonce' 'nonce-${nonce}', script-src 'unsafe-inline'`,
    );
    expect(body).not.toContain('/rx.js');
    expect(body).toContain(`<style data-rx-styles nonce="${nonce}">`);
  });

  it("'none', and a sandbox without allow-scripts, keep the script out; a sandbox with it does not", async () => {
    for (const csp of ["script-src 'none'", 'sandbox allow-forms']) {
      const { response, body } = await page(cspPath({ csp: [csp] }));
      expect(response.headers.get('content-security-policy')).toBe(csp);
      expect(body).not.toContain('/rx.js');
    }
    const allowed = await page(cspPath({ csp: ['sandbox allow-scripts allow-same-origin'] }));
    expect(
      count(allowed.body, '<script src="https://shop.example/rx.js" async data-rx-page-view="sent">'),
    ).toBe(1);
  });

  it("keeps the script when connect-src refuses the plugin's /v1 calls, and says so", async () => {
    const csp = "connect-src https://api.shop.example; script-src 'self'";
    const lines = await cspLogLines(async () => {
      const { response, body } = await page(cspPath({ csp: [csp] }));
      expect(response.headers.get('content-security-policy')).toBe(csp);
      expect(count(body, '<script src="https://shop.example/rx.js"')).toBe(1);
    });
    expect(lines).toEqual([
      expect.objectContaining({
        element: 'connect',
        directive: 'connect-src',
        reason: 'this host not allowed',
      }),
    ]);
  });
});

describe('proxy: a policy in <meta http-equiv>', () => {
  it('gets the nonce in its content, as a header would', async () => {
    const meta = "script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'nonce-shop-nonce'";
    const path = cspPath({ meta: [meta] });
    const { response, body } = await page(path);
    expect(response.headers.get('content-security-policy')).toBeNull();
    const nonce = injectedNonce(body);
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(body).toContain(
      `<meta http-equiv="Content-Security-Policy" content="script-src 'nonce-shop-nonce' 'strict-dynamic' 'nonce-${nonce}'; style-src 'nonce-shop-nonce' 'nonce-${nonce}'">`,
    );
  });

  it("shares the header's nonce, and keeps the script out when it relies on 'unsafe-inline'", async () => {
    const header = "style-src 'nonce-shop-nonce'";
    const meta = "script-src 'unsafe-inline' https://cdn.shop.example";
    const path = cspPath({ csp: [header], meta: [meta] });
    const { response, body } = await page(path);
    const nonce = NONCE_SOURCE.exec(response.headers.get('content-security-policy') ?? '')?.[1] ?? '';
    expect(body).toContain(`<style data-rx-styles nonce="${nonce}">`);
    expect(body).not.toContain('/rx.js');
    expect(body).toContain(`content="${meta}"`);
  });
});

/** The catalogue's images on a CDN host, as a shop with an image service has them. */
const CDN = 'https://cdn.shop.example';

/** The test source's items (images `/images/ID.svg`, relative), or with their images moved to `host`. */
async function items(host = ''): Promise<Recommendations['items']> {
  const { items: relative } = await testSource().recommend({
    placement: 'product',
    productId: '85123A',
    limit: 4,
  });
  return relative.map((item) => ({ ...item, image: `${host}${item.image}` }));
}

/** A treatment shopper's page whose blocks show these items. */
function pageWith(path: string, shown: Recommendations['items']): Promise<ProxiedResponse> {
  return proxied(path, {}, { deps: { source: () => testSource({ items: shown }) } });
}

/** How many images the page's blocks have, and whether a block (with its titles) is there at all. */
function blockImages(body: string): { blocks: number; images: number; titles: number } {
  return {
    blocks: count(body, '<section class="rx-block'),
    images: count(body, '<img class="rx-image"'),
    titles: count(body, '<span class="rx-title">'),
  };
}

describe("proxy: the blocks' images under img-src", () => {
  const WITH_IMAGES = { blocks: 1, images: 4, titles: 4 };
  const TEXT_ONLY = { blocks: 1, images: 0, titles: 4 };

  it("'self' keeps relative images and leaves out another host's, whole block text-only", async () => {
    const path = cspPath({ csp: ["img-src 'self'"] });
    const lines = await cspLogLines(async () => {
      const relative = await pageWith(path, await items());
      expect(blockImages(relative.body)).toEqual(WITH_IMAGES);
      expect(relative.body).toContain('<img class="rx-image" src="/images/');
      const cdn = await pageWith(path, await items(CDN));
      expect(blockImages(cdn.body)).toEqual(TEXT_ONLY);
      expect(cdn.body).not.toContain(CDN);
      expect(blockImages((await pageWith(path, await items(CDN))).body)).toEqual(TEXT_ONLY);
      // The rest of the page is as always: the shop's bytes, our tags, the block.
      expect(withoutInsertions(cdn.body)).toBe((await direct(path)).body);
    });
    expect(lines).toEqual([
      {
        level: 'warn',
        event: 'proxy_csp_refused',
        element: 'image',
        directive: 'img-src',
        reason: "the catalogue images' address not allowed",
      },
    ]);
    expect(await cspHealth()).toMatchObject({
      status: 'degraded',
      detail:
        "Content-Security-Policy img-src: the catalogue images' address not allowed; blocks shown without images (allow their host in img-src)",
    });
  });

  it("a host source keeps that host's images and leaves out the page's own", async () => {
    const path = cspPath({ csp: ["script-src 'self'; img-src https://cdn.shop.example"] });
    expect(blockImages((await pageWith(path, await items(CDN))).body)).toEqual(WITH_IMAGES);
    expect(blockImages((await pageWith(path, await items())).body)).toEqual(TEXT_ONLY);
  });

  it('https: and * keep every http(s) image, unless another policy refuses them', async () => {
    for (const source of ['https:', '*']) {
      for (const host of ['', CDN]) {
        const { body } = await pageWith(cspPath({ csp: [`img-src ${source}`] }), await items(host));
        expect(blockImages(body), `${source} ${host}`).toEqual(WITH_IMAGES);
      }
      const both = await pageWith(
        cspPath({ csp: [`img-src ${source}`, "img-src 'self'"] }),
        await items(CDN),
      );
      expect(blockImages(both.body), source).toEqual(TEXT_ONLY);
    }
  });

  it("'none' and default-src (when img-src is absent) refuse; img-src, when there, wins over default-src", async () => {
    const lines = await cspLogLines(async () => {
      const none = await pageWith(cspPath({ csp: ["img-src 'none'"] }), await items());
      expect(blockImages(none.body)).toEqual(TEXT_ONLY);
      const fallback = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'";
      const refused = await pageWith(cspPath({ csp: [fallback] }), await items(CDN));
      expect(blockImages(refused.body)).toEqual(TEXT_ONLY);
      const kept = await pageWith(cspPath({ csp: [`${fallback}; img-src ${CDN}`] }), await items(CDN));
      expect(blockImages(kept.body)).toEqual(WITH_IMAGES);
    });
    expect(lines.filter((line) => line.element === 'image')).toEqual([
      expect.objectContaining({ directive: 'img-src', reason: "'none'" }),
      expect.objectContaining({
        directive: 'default-src',
        reason: "the catalogue images' address not allowed",
      }),
    ]);
  });

  it('Report-Only refuses nothing; the same policy enforced, in a header or <meta>, does', async () => {
    const policy = "img-src 'none'";
    const reportOnly = await pageWith(cspPath({ ro: [policy] }), await items());
    expect(blockImages(reportOnly.body)).toEqual(WITH_IMAGES);
    expect(blockImages((await pageWith(cspPath({ csp: [policy] }), await items())).body)).toEqual(TEXT_ONLY);
    expect(blockImages((await pageWith(cspPath({ meta: [policy] }), await items())).body)).toEqual(TEXT_ONLY);
  });

  /** A treatment shopper's rewrite of a page with a `<base href>` under this header policy. */
  async function withBase(policy: string, href: string, page = 'https://shop.example/p'): Promise<string> {
    const config = parseProxyConfig({ ORIGIN_URL: 'https://origin.example' } as Env);
    if (!config) throw new Error('proxy mode expected');
    const url = new URL(page);
    const headers = new Headers({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': policy,
    });
    const session = new PageSession(testSource({ items: await items() }), new Deadline(), {
      placement: 'home',
    });
    const rewriter = pageRewriter({
      config,
      session,
      personal: true,
      pageViewSent: true,
      encode: (html) => html,
      page: url,
      csp: pageCsp(headers, url, true),
    });
    const html = `<!doctype html><html><head><base href="${href}"></head><body><div data-rx-slot data-rx-placement="home" data-rx-limit="4"></div></body></html>`;
    return rewriter.transform(new Response(html, { headers })).text();
  }

  it('judges relative images where <base href> sends them, unless base-uri refuses that base', async () => {
    const policy = `img-src ${CDN}`;
    expect(blockImages(await withBase(policy, `${CDN}/`))).toEqual(WITH_IMAGES);
    expect(blockImages(await withBase(`${policy}; base-uri 'self'`, `${CDN}/`))).toEqual(TEXT_ONLY);
    expect(blockImages(await withBase(policy, '/shop/'))).toEqual(TEXT_ONLY);
  });

  it('on an http page, https: refuses its relative images unless the policy upgrades them', async () => {
    const page = 'http://shop.example/p';
    expect(blockImages(await withBase('img-src https:', '/', page))).toEqual(TEXT_ONLY);
    expect(blockImages(await withBase('img-src https:; upgrade-insecure-requests', '/', page))).toEqual(
      WITH_IMAGES,
    );
  });
});
