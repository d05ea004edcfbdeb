/**
 * Proxy mode under a shop's nonce-based Content-Security-Policy, in real headless Chromium against the
 * real local stack (`startStack`, as `npm start`) proxying the proxy tests' origin (`/csp-page`): the
 * browser itself judges the nonce the worker added to the header and put on its tags
 * (docs/proxy.md "Shops with a Content-Security-Policy"), and the images of the blocks the worker
 * renders: left out where `img-src` refuses them, loaded where it allows them.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../scripts/demo-shop/catalogue';
import { productSvg } from '../../scripts/demo-shop/image';
import { type Stack, startStack } from '../../scripts/dev/stack';
import { type ProxyOrigin, startProxyOrigin } from '../support/proxy-origin';
import { stackMongo } from '../support/test-mongo';
import { DESKTOP_CHROME_USER_AGENT, launchBrowser, type TestBrowser } from './plugin-browser';

/**
 * The proxy tests' origin, plus the demo catalogue's pictures at `/images/ID.svg`: the demo bundle's
 * items name their images relative to the shop (as the demo shop serves them), so the browser asks
 * the worker for them and the worker fetches them from its origin like any other path. Every other
 * request goes to the proxy tests' origin with its raw headers (a repeated CSP header stays two).
 */
async function startShopOrigin(upstream: string): Promise<ProxyOrigin> {
  const catalogue = loadCatalogue();
  const target = new URL(upstream);
  const server = createServer((request, response) => {
    const id = /^\/images\/([^/]+)\.svg$/.exec(request.url ?? '')?.[1];
    if (id !== undefined) {
      const product = catalogue.byId.get(decodeURIComponent(id));
      if (product) response.writeHead(200, { 'content-type': 'image/svg+xml' }).end(productSvg(product));
      else response.writeHead(404).end();
      return;
    }
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: request.url,
        method: request.method,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(response);
      },
    );
    forwarded.on('error', (error) => response.writeHead(502).end(String(error)));
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** RX_TEST_MONGODB_URI: the events the pages send go to a database of this run's own there. */
const testMongo = stackMongo();
let origin: ProxyOrigin;
let shop: ProxyOrigin;
let stack: Stack;
let browser: TestBrowser;

beforeAll(async () => {
  origin = await startProxyOrigin();
  shop = await startShopOrigin(origin.url);
  stack = await startStack({
    // Every shopper treated, the demo bundle on (with ORIGIN_URL it is off), generous budgets: this
    // checks what the browser does with the page, not how fast it comes.
    workerVars: {
      ...testMongo.workerVars,
      ORIGIN_URL: shop.url,
      DEMO_BUNDLE: 'true',
      HOLDOUT_PERCENT: '0',
      // A browser sending Sec-GPC: 1 is untracked: its page keeps the origin's caching (below).
      RX_HONOUR_GPC: 'true',
      PERSONALIZATION_BUDGET_MS: '5000',
      CACHE_BUDGET_MS: '5000',
    },
    readyTimeoutMs: 150_000,
  });
  browser = await launchBrowser({ userAgent: DESKTOP_CHROME_USER_AGENT });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await testMongo.drop();
  await shop?.close();
  await origin?.close();
}, 60_000);

/** Before any of the page's own script: every refusal the browser reports, by directive and URL. */
const RECORD_VIOLATIONS = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspViolations.push(event.effectiveDirective + ' ' + event.blockedURI);
});`;

/** Until the async plugin has run (its API object as `window.rx`) or been refused, or there is none. */
const PLUGIN_SETTLED = `typeof window.rx === 'object' || window.cspViolations.length > 0 ||
  !document.querySelector('script[src$="/rx.js"]')`;

/** What ran, whether the default stylesheet applies (it lays the list out as a grid), what was refused. */
const OBSERVE = `({
  plugin: typeof window.rx === 'object',
  shopInline: window.shopInline === true,
  blocks: document.querySelectorAll('section.rx-block').length,
  listDisplay: document.querySelector('.rx-list') ? getComputedStyle(document.querySelector('.rx-list')).display : null,
  violations: window.cspViolations,
})`;

interface Observed {
  plugin: boolean;
  shopInline: boolean;
  blocks: number;
  listDisplay: string | null;
  violations: string[];
  header: string;
}

async function visit(page: Page, policy: string): Promise<Observed & { cacheControl?: string }> {
  await page.addInitScript(RECORD_VIOLATIONS);
  const response = await page.goto(`${stack.workerUrl}/csp-page?csp=${encodeURIComponent(policy)}`);
  await page.waitForLoadState('load');
  await page.waitForFunction(PLUGIN_SETTLED, undefined, { timeout: 10_000 });
  const seen = (await page.evaluate(OBSERVE)) as Omit<Observed, 'header'>;
  const headers = response?.headers() ?? {};
  return {
    ...seen,
    header: headers['content-security-policy'] ?? '',
    cacheControl: headers['cache-control'],
  };
}

/** As `visit`, for a shopper the worker does not track (Global Privacy Control, RX_HONOUR_GPC). */
async function visitUntracked(page: Page, policy: string): Promise<Observed & { cacheControl?: string }> {
  await page.setExtraHTTPHeaders({ 'sec-gpc': '1' });
  return visit(page, policy);
}

describe('proxy mode under a Content-Security-Policy, in Chromium', () => {
  it("runs the plugin and applies the blocks' stylesheet under a nonce policy, the shop's own inline code too", async () => {
    const { page, errors } = await browser.newPage();
    const seen = await visit(
      page,
      "script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'nonce-shop-nonce'; object-src 'none'",
    );
    expect(seen).toMatchObject({
      plugin: true,
      shopInline: true,
      blocks: 1,
      listDisplay: 'grid',
      violations: [],
    });
    expect(seen.header).toMatch(/^script-src 'nonce-shop-nonce' 'strict-dynamic' 'nonce-[\w+/]{22}=='; /);
    expect(errors).toEqual([]);
  }, 60_000);

  it("leaves the script out where the policy relies on 'unsafe-inline', so nothing is refused", async () => {
    const { page } = await browser.newPage();
    const seen = await visit(
      page,
      "script-src 'unsafe-inline' https://cdn.shop.example; style-src 'unsafe-inline'",
    );
    expect(seen).toMatchObject({
      plugin: false,
      shopInline: true,
      blocks: 1,
      listDisplay: 'grid',
      violations: [],
    });
  }, 60_000);
});

/**
 * An untracked shopper's page keeps the origin's caching (the test origin sends none, so a shared
 * cache may store it): no nonce of ours may go in it. The browser itself checks what the worker used
 * instead: the stylesheet's sha256 hash, and the shop's own nonce on the script.
 */
describe('an untracked page a shared cache may keep, under a Content-Security-Policy, in Chromium', () => {
  it("lets the stylesheet in by its hash and the script by the shop's own nonce: nothing refused, still shareable", async () => {
    const { page, errors } = await browser.newPage();
    const seen = await visitUntracked(
      page,
      "script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'nonce-shop-nonce'; object-src 'none'",
    );
    expect(seen).toMatchObject({
      plugin: true,
      shopInline: true,
      blocks: 1,
      listDisplay: 'grid',
      violations: [],
    });
    // The script went in under the shop's nonce (its directive untouched), the style under a hash.
    expect(seen.header).toMatch(
      /^script-src 'nonce-shop-nonce' 'strict-dynamic'; style-src 'nonce-shop-nonce' 'sha256-[\w+/]{43}='; object-src 'none'$/,
    );
    expect(seen.cacheControl ?? '').not.toMatch(/private/);
    expect(errors).toEqual([]);
  }, 60_000);

  it('makes the page private when the script needs a nonce the shop does not have', async () => {
    const { page, errors } = await browser.newPage();
    const seen = await visitUntracked(
      page,
      "script-src 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='; style-src 'self'",
    );
    // The shop's own inline script and style (nonce="shop-nonce", which this policy does not name) are
    // refused, once each; ours are not: the plugin ran and the blocks' stylesheet applies.
    expect(seen).toMatchObject({
      plugin: true,
      shopInline: false,
      blocks: 1,
      listDisplay: 'grid',
      violations: ['script-src-elem inline', 'style-src-elem inline'],
    });
    expect(seen.header).toMatch(
      /script-src 'sha256-A{43}=' 'nonce-[\w+/]{22}=='; style-src 'self' 'sha256-[\w+/]{43}='$/,
    );
    expect(seen.cacheControl).toBe('private');
    expect(errors).toEqual([]);
  }, 60_000);
});

/** Every image of the page has loaded or failed (a refused one fails, and is `complete` too). */
const IMAGES_SETTLED = '[...document.images].every((image) => image.complete)';

/**
 * Whether the worker filled the slot (the plugin fills only slots left empty), its cards' links and
 * titles, each image's natural width (0: broken or refused), and what the browser refused.
 */
const OBSERVE_SLOT = `(() => {
  const slot = document.querySelector('[data-rx-slot]');
  const cards = [...(slot ? slot.querySelectorAll('section.rx-block a[href]') : [])];
  return {
    filledByWorker: slot ? slot.hasAttribute('data-rx-filled') : false,
    links: cards.map((card) => card.getAttribute('href')),
    titles: cards.map((card) => card.querySelector('.rx-title')?.textContent ?? ''),
    blockImages: [...(slot ? slot.querySelectorAll('img') : [])].map((image) => image.naturalWidth),
    pageImages: [...document.images].map((image) => image.naturalWidth),
    violations: window.cspViolations,
  };
})()`;

interface SlotObserved {
  filledByWorker: boolean;
  links: (string | null)[];
  titles: string[];
  blockImages: number[];
  pageImages: number[];
  violations: string[];
}

async function visitSlot(page: Page, policy: string): Promise<SlotObserved> {
  await page.addInitScript(RECORD_VIOLATIONS);
  await page.goto(`${stack.workerUrl}/csp-page?csp=${encodeURIComponent(policy)}`);
  await page.waitForLoadState('load');
  await page.waitForFunction(PLUGIN_SETTLED, undefined, { timeout: 10_000 });
  await page.waitForFunction(IMAGES_SETTLED, undefined, { timeout: 10_000 });
  // A violation event is queued as a task after the refusal: let it run before reading the record.
  await page.evaluate('new Promise((resolve) => setTimeout(resolve, 50))');
  return (await page.evaluate(OBSERVE_SLOT)) as SlotObserved;
}

describe("the blocks' images under img-src, in Chromium", () => {
  it('leaves the images out where img-src refuses their host: titles and links, nothing refused or broken', async () => {
    const { page, errors } = await browser.newPage();
    // The catalogue's images are the page's own host's; the policy allows only a CDN's.
    const seen = await visitSlot(page, 'img-src https://cdn.shop.example');
    // One assertion, so that a failure shows the broken images and the refusals together.
    expect(seen).toMatchObject({ filledByWorker: true, blockImages: [], pageImages: [], violations: [] });
    expect(seen.links.length).toBeGreaterThan(0);
    expect(seen.links.every((link) => link?.startsWith('/products/'))).toBe(true);
    expect(seen.titles.every((title) => title.trim() !== '')).toBe(true);
    expect(errors).toEqual([]);
    const health = (await (await fetch(`${stack.workerUrl}/healthz`)).json()) as {
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(health.components.csp).toMatchObject({
      status: 'degraded',
      detail:
        "Content-Security-Policy img-src: the catalogue images' address not allowed; blocks shown without images (allow their host in img-src)",
    });
  }, 60_000);

  it('keeps the images where img-src allows them, and the browser loads every one', async () => {
    const { page, errors } = await browser.newPage();
    const seen = await visitSlot(page, "img-src 'self'");
    expect(seen.filledByWorker).toBe(true);
    expect(seen.links.length).toBeGreaterThan(0);
    // One picture per card, each loaded (the demo pictures are 400 px wide).
    expect(seen.blockImages).toEqual(seen.links.map(() => 400));
    expect(seen.violations).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);
});
