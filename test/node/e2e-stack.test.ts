/**
 * End to end: the real local stack (the same `startStack` as `npm start`: local Upstash-compatible
 * server, local MongoDB-compatible server, demo shop, the worker under `wrangler dev`) on free ports,
 * and a demo product page fetched through the worker.
 */
import { Redis } from '@upstash/redis';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCatalogue } from '../../scripts/demo-shop/catalogue';
import { seededRandom } from '../../scripts/demo-traffic/random';
import { simulateShopper } from '../../scripts/demo-traffic/shopper';
import { type Stack, startStack } from '../../scripts/dev/stack';
import { stackMongo } from '../support/test-mongo';
import { waitFor } from '../support/wait-for';
import { assertChromium, DESKTOP_CHROME_USER_AGENT, launchBrowser } from './plugin-browser';

const catalogue = loadCatalogue();
// A browser's page navigation (the proxy leaves bots and non-page requests alone).
const BROWSER = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
};

const OTHER_SHOP = 'http://127.0.0.1:3000';

let stack: Stack;
/** The stack's own local MongoDB, or a fresh database on RX_TEST_MONGODB_URI (test-mongo.ts). */
const testMongo = stackMongo();
const workerLog: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    // Everyone in the treatment bucket, so the page is personalized deterministically. The time
    // budgets (50 ms by default) are for production latency; on a busy test machine a slow answer
    // would leave a slot empty or mark the cache degraded, and this test checks behaviour, not speed.
    workerVars: {
      ...testMongo.workerVars,
      HOLDOUT_PERCENT: '0',
      PERSONALIZATION_BUDGET_MS: '5000',
      CACHE_BUDGET_MS: '5000',
      // A retailer's own shop in script mode: the demo shop's origin is added to it, not put in its place.
      SHOP_ORIGINS: OTHER_SHOP,
    },
    onWorkerOutput: (line) => workerLog.push(line),
    readyTimeoutMs: 150_000,
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await testMongo.drop();
}, 30_000);

/** The origin's page as the worker should pass it on, once what the worker adds is taken out. */
function withoutPersonalization(page: string): string {
  return (
    page
      .replace(/<style data-rx-styles>[\s\S]*?<\/style>/g, '')
      // The plugin tag, absolute on the worker's host (contracts/plugin-tag.ts).
      .replace(/<script src="[^"]*\/rx\.js"[^>]*><\/script>/g, '')
      .replace(/ data-rx-filled="[^"]*"><section class="rx-block[\s\S]*?<\/section><\/div>/g, '></div>')
      .replace(
        /(<span [^>]*data-rx-price[^>]*>)[\s\S]*?<\/span>(<small class="rx-price-note">[^<]*<\/small>)?/g,
        '$1</span>',
      )
  );
}

describe('local stack end to end', () => {
  it('serves the demo product page through the worker with the slot filled from the catalogue', async () => {
    const response = await fetch(`${stack.workerUrl}/products/85123A`, { headers: BROWSER });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const page = await response.text();

    const slot =
      /<div data-rx-slot="recommendations" data-rx-placement="product"[^>]*data-rx-filled="([^"]+)">([\s\S]*?)<\/div><\/div>/.exec(
        page,
      );
    expect(
      slot,
      `no filled product slot in:\n${page.slice(0, 3000)}\nworker said:\n${workerLog.slice(-20).join('\n')}`,
    ).not.toBeNull();
    const block = slot?.[2] ?? '';
    expect(block).toContain('<section class="rx-block rx-placement-product"');
    const items = [
      ...block.matchAll(
        /<li class="rx-item"><a class="rx-link" href="([^"]+)" data-rx-product-id="([^"]+)"[\s\S]*?<span class="rx-title">([^<]*)<\/span><\/a><span class="rx-price">([^<]*)<\/span><\/li>/g,
      ),
    ];
    expect(items.length).toBe(4); // data-rx-limit="4"
    for (const [, href, id = '', title, price] of items) {
      const product = catalogue.byId.get(id);
      expect(product, `recommended ${id} is not in the demo catalogue`).toBeDefined();
      expect(href).toBe(`/products/${id}`);
      // Titles come escaped (the catalogue has "POPPY'S ..."): compare after undoing the entities.
      expect(title?.replace(/&#39;/g, "'").replace(/&amp;/g, '&')).toBe(product?.title);
      expect(price).toMatch(/^£\d+\.\d{2}$/);
      expect(id).not.toBe('85123A'); // never the product being viewed
    }

    // The product's own price is still there, in the shop's format.
    expect(page).toMatch(/<span class="price" data-rx-price data-rx-product-id="85123A">£\d+\.\d{2}<\/span>/);
    // A first visit gets the shopper cookie.
    expect(response.headers.get('set-cookie') ?? '').toMatch(/rx_uid=/);

    // Everything else is the origin's page, byte for byte.
    const origin = await (await fetch(`${stack.originUrl}/products/85123A`, { headers: BROWSER })).text();
    expect(withoutPersonalization(page)).toBe(withoutPersonalization(origin));
  });

  it('passes non-page requests (the SVG pictures) through unchanged', async () => {
    const proxied = await fetch(`${stack.workerUrl}/images/22423.svg`);
    const direct = await fetch(`${stack.originUrl}/images/22423.svg`);
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get('content-type')).toBe('image/svg+xml');
    expect(await proxied.text()).toBe(await direct.text());
  });

  it('allows script mode on the demo shop and on the shops given in SHOP_ORIGINS (CORS)', async () => {
    expect(stack.shopUrl).toBeDefined();
    for (const origin of [stack.shopUrl ?? '', OTHER_SHOP]) {
      const preflight = await fetch(`${stack.workerUrl}/v1/recommendations?placement=home`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      await preflight.arrayBuffer();
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBe(origin);
    }
    const stranger = await fetch(`${stack.workerUrl}/v1/recommendations?placement=home`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:3999', 'access-control-request-method': 'GET' },
    });
    await stranger.arrayBuffer();
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reports a healthy cache on /healthz, backed by the real local Upstash-compatible server', async () => {
    const health = await fetch(`${stack.workerUrl}/healthz`);
    const body = (await health.json()) as { status: string; components: Record<string, { status: string }> };
    expect(body.components.cache?.status, JSON.stringify(body.components.cache)).toBe('ok');
    expect(body.components.origin?.status).toBe('ok');
    // The stack gives the worker a USER_HASH_KEY (dev secrets), as production must: shoppers' state is keyed.
    expect(body.components.user_hash?.status).toBe('ok');

    // The worker really wrote to that server: the page view above left cached results behind.
    const upstash = stack.upstash;
    expect(upstash).toBeDefined();
    const redis = new Redis({ url: upstash?.url ?? '', token: upstash?.token ?? '' });
    // Written in the background (after the responses, and by the queue consumer): polled, for up to a
    // minute, as a busy machine (other test files run meanwhile) can take more than a few seconds.
    const keys = await waitFor(
      () => redis.dbsize(),
      (count) => count > 0,
      60_000,
    );
    expect(keys).toBeGreaterThan(0);
  }, 90_000);

  it('carries a simulated shopper (demo:traffic) through pages, cart and events into MongoDB', async () => {
    // The shopper's id, as the worker gives it (its rx_uid cookie): what its page views and events are
    // stored under, apart from every other test's.
    const realFetch = globalThis.fetch;
    const anonymousIds = new Set<string>();
    const watched = vi.spyOn(globalThis, 'fetch').mockImplementation(async (...args) => {
      const response = await realFetch(...args);
      for (const cookie of response.headers.getSetCookie()) {
        const id = /^rx_uid=([^;]+)/.exec(cookie)?.[1];
        if (id) anonymousIds.add(id);
      }
      return response;
    });
    let report: Awaited<ReturnType<typeof simulateShopper>>;
    try {
      report = await simulateShopper(
        1,
        { baseUrl: stack.workerUrl, deadline: Date.now() + 60_000, thinkMs: [0, 0] },
        seededRandom(1),
      );
    } finally {
      watched.mockRestore();
    }
    expect(report.errors).toEqual([]);
    expect(report.bucket).toBe('treatment'); // HOLDOUT_PERCENT=0
    expect(report.pages).toBeGreaterThanOrEqual(2);
    expect(anonymousIds.size).toBe(1); // one cookie, on the first page, kept after
    const [anonymousId] = [...anonymousIds];

    // Page views (recorded by the worker) and the shopper's events go through the queue consumer
    // into MongoDB (the stack's local MongoDB-compatible server unless RX_TEST_MONGODB_URI is set):
    // each of them, once (messageId is the _id), and nothing else under this shopper's id.
    const expected = report.pages + report.eventsAccepted;
    const client = new MongoClient(testMongo.uri(stack), { serverSelectionTimeoutMS: 5_000 });
    try {
      const events = client.db(testMongo.database).collection('events');
      const stored = await waitFor(
        () => events.countDocuments({ anonymousId }),
        (count) => count >= expected,
        60_000,
      );
      expect(stored).toBe(expected);
      expect(await events.countDocuments({ anonymousId, bucket: { $ne: 'treatment' } })).toBe(0);
    } finally {
      await client.close();
    }
  }, 90_000);

  it('the live screen in Chromium: a wrong token is refused, the right one shows the counted page views', async () => {
    assertChromium();
    // A shopper's page view, counted by the consumer into the live counters.
    await (await fetch(`${stack.workerUrl}/products/85123A`, { headers: BROWSER })).text();
    const browser = await launchBrowser({ userAgent: DESKTOP_CHROME_USER_AGENT });
    try {
      const { page, errors } = await browser.newPage();
      const refused: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && !/status of 401/.test(message.text())) refused.push(message.text());
      });
      await page.goto(`${stack.workerUrl}/admin/live/screen`);
      await page.fill('#token', 'not-the-token');
      await page.click('button[type=submit]');
      await page.waitForSelector('#login-error:not(:empty)');
      expect(await page.textContent('#login-error')).toBe('That token was refused.');

      // As copied from .rx-data/run/worker.env: in quotes.
      await page.fill('#token', `'${stack.workerVars.ADMIN_TOKEN ?? ''}'`);
      await page.click('button[type=submit]');
      await page.waitForSelector('#live:not([hidden])');
      expect(await page.textContent('#site')).toBe('demo'); // wrangler.toml's SITE_ID
      // The consumer counts as events arrive: the screen shows them at its next refresh at the latest.
      const impressions = async () =>
        page.$$eval(
          '#summary tbody tr',
          (rows) =>
            rows.find((row) => row.firstElementChild?.textContent === 'Recommendation impressions')
              ?.children[1]?.textContent,
        );
      const shown = await waitFor(impressions, (text) => Number(text ?? 0) >= 1, 30_000);
      expect(Number(shown ?? 0)).toBeGreaterThanOrEqual(1);
      expect(
        await page.$$eval('#placements tbody th', (cells) => cells.map((cell) => cell.textContent)),
      ).toContain('product');
      // The token stays in the page's memory: never in the address, storage or a cookie (on the shop's
      // domain in proxy mode, the shop's scripts could read those).
      const token = stack.workerVars.ADMIN_TOKEN ?? '';
      expect(page.url()).not.toContain(token);
      const stored = await page.evaluate(
        'JSON.stringify([{ ...sessionStorage }, { ...localStorage }, document.cookie])',
      );
      expect(stored).not.toContain(token);
      // "Forget the token" while a read is on its way: its answer, when it comes, shows nothing.
      // `rxHeldRead`: settles once the page has that answer, body and all, and its own handling of it
      // has run (a task later).
      await page.evaluate(`(() => {
        const fetch = window.fetch;
        window.rxHeldRead = new Promise((resolve) => {
          window.fetch = (...args) => {
            const answer = fetch(...args);
            if (String(args[0]).includes('days=1')) {
              const settled = () => setTimeout(resolve, 0);
              answer.then((response) => response.clone().text()).then(settled, settled);
            }
            return answer;
          };
        });
      })()`);
      let letAnswer: () => void = () => {};
      const forgotten = new Promise<void>((resolve) => {
        letAnswer = resolve;
      });
      await page.route(
        (url) => url.pathname === '/admin/live' && url.searchParams.get('days') === '1',
        async (route) => {
          await forgotten;
          // The worker's answer, handed to the page whole.
          await route.fulfill({ response: await route.fetch() });
        },
      );
      await page.selectOption('#days', '1'); // a new read, held until the token is forgotten
      await page.click('#forget');
      letAnswer();
      // The page has had the answer and a frame to show it.
      await page.evaluate('window.rxHeldRead');
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))');
      expect(await page.isHidden('#live')).toBe(true);
      expect(await page.isVisible('#login')).toBe(true);
      // No script error and no CSP violation (the page's CSP allows only its own inline script and style).
      expect(errors).toEqual([]);
      expect(refused).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
