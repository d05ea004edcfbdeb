/**
 * rx.js end to end in real headless Chromium: the demo shop served directly (script mode, not
 * proxied) with the worker's `/rx.js` tag, against the real local stack (`startStack`, the same as
 * `npm start`: worker under wrangler dev, its queue consumer, local Upstash and MongoDB servers).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../scripts/demo-shop/catalogue';
import { type Stack, startStack } from '../../scripts/dev/stack';
import { stackMongo } from '../support/test-mongo';
import { type SharedChromium, startChromium, type TestBrowser } from './plugin-browser';

const OUTPUT_DIR = fileURLToPath(new URL('../../test-output', import.meta.url));
const catalogue = loadCatalogue();
const productIds = new Set(catalogue.products.map((p) => p.product_id));

let stack: Stack;
/** The stack's own local MongoDB, or a fresh database on RX_TEST_MONGODB_URI (test-mongo.ts). */
const testMongo = stackMongo();
let mongo: MongoClient;
let chromium: SharedChromium;
let browser: TestBrowser;
const workerLog: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    shopScriptMode: true,
    // Everyone in the treatment bucket, so recommendations are personalized deterministically.
    workerVars: { ...testMongo.workerVars, HOLDOUT_PERCENT: '0' },
    onWorkerOutput: (line) => workerLog.push(line),
    readyTimeoutMs: 150_000,
  });
  mongo = new MongoClient(testMongo.uri(stack));
  chromium = await startChromium();
}, 180_000);

afterAll(async () => {
  await chromium?.close();
  await mongo?.close();
  await stack?.stop();
  await testMongo.drop();
}, 60_000);

// A fresh browser context (an empty profile) per test: no cookie, consent or queued event carries over.
beforeEach(async () => {
  browser = await chromium.fresh();
});
afterEach(async () => {
  await browser?.close();
});

/** Cumulative layout shift of the page so far, from PerformanceObserver('layout-shift'). */
const CLS_OBSERVER = `
  window.__rxCls = 0;
  window.__rxShifts = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.hadRecentInput) continue;
      window.__rxCls += entry.value;
      window.__rxShifts.push(entry.sources.map((s) => s.node && s.node.outerHTML.slice(0, 120)));
    }
  }).observe({ type: 'layout-shift', buffered: true });
`;

/** The fields of a stored event this test reads (`_id` is the messageId). */
interface StoredEventDoc {
  _id: string;
  messageId: string;
  anonymousId: string;
  event?: string;
  properties?: Record<string, unknown>;
}

/** The page's layout shift so far, with the shifted nodes (to explain a failure). */
async function layoutShift(page: Page): Promise<{ cls: number; shifts: unknown[] }> {
  return (await page.evaluate('({ cls: window.__rxCls, shifts: window.__rxShifts })')) as {
    cls: number;
    shifts: unknown[];
  };
}

function shopUrl(pathname: string): string {
  return `${stack.shopUrl ?? ''}${pathname}`;
}

function events() {
  return mongo.db(testMongo.database).collection<StoredEventDoc>('events');
}

/**
 * Scrolls through the page (lazy slots fill near the viewport) until every slot is filled or failed.
 * The script loads async: a slot scrolled past before it started watching waits for the next scroll
 * (as it would for a shopper), so unfinished slots are scrolled into view again until none is left.
 * In the page, in one step (a slot can finish at any moment): the DOM's own scrollIntoView, since
 * Playwright's waits for the element to be visible, and a slot the shop gave no height is not; then
 * two animation frames, since headless Chromium computes intersections when it renders one.
 */
const SCROLL_TO_UNFINISHED_SLOT = `(async () => {
  const unfinished = [...document.querySelectorAll('[data-rx-slot]')].filter(
    (slot) => slot.dataset.rxState !== 'filled' && slot.dataset.rxState !== 'failed',
  );
  unfinished[0]?.scrollIntoView({ block: 'center' });
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return unfinished.map((slot) => slot.dataset.rxSlot + ':' + slot.dataset.rxState);
})()`;

async function fillAllSlots(page: Page): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const unfinished = (await page.evaluate(SCROLL_TO_UNFINISHED_SLOT)) as string[];
    if (unfinished.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`slots neither filled nor failed after 30 s: ${unfinished.join(', ')}`);
    }
    await page.waitForTimeout(100);
  }
}

async function anonymousIdOf(page: Page): Promise<string> {
  const cookies = await page.context().cookies(shopUrl('/'));
  const id = cookies.find((c) => c.name === 'rx_uid')?.value;
  if (!id) throw new Error('no rx_uid cookie on the shop');
  return id;
}

describe('rx.js on the demo shop (script mode, real stack)', () => {
  it('renders real recommendations with zero layout shift', async () => {
    const { page, errors } = await browser.newPage();
    await page.addInitScript(CLS_OBSERVER);
    await page.goto(shopUrl('/'));
    await fillAllSlots(page);
    const items = page.locator('[data-rx-slot] .rx-block .rx-link');
    expect(await items.count(), `worker said:\n${workerLog.slice(-20).join('\n')}`).toBeGreaterThan(0);
    // Real catalogue products, linked to the shop's own product pages.
    for (const id of await items.evaluateAll((links) =>
      links.map((a) => a.getAttribute('data-rx-product-id')),
    )) {
      expect(productIds.has(id ?? '')).toBe(true);
    }
    expect(await layoutShift(page), 'home page').toEqual({ cls: 0, shifts: [] });

    const product = catalogue.products[0];
    if (!product) throw new Error('empty catalogue');
    await page.goto(shopUrl(`/products/${product.product_id}`));
    await fillAllSlots(page);
    await page.locator('[data-rx-slot] .rx-block').first().waitFor();
    // Today's worker quotes base prices (personalized: false): the shop's own price stays as printed.
    const price = page.locator('[data-rx-price]').first();
    const printed = await price.textContent();
    await expect.poll(() => price.getAttribute('data-rx-state')).toBe('base');
    expect(await price.textContent()).toBe(printed);
    await page.evaluate('window.scrollTo(0, 0)');

    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'plugin-demo-shop.png'), fullPage: true });

    expect(await layoutShift(page), 'product page').toEqual({ cls: 0, shifts: [] });
    expect(errors).toEqual([]);
  }, 90_000);

  it('would see a layout shift if the slot reserved no space (the CLS check can fail)', async () => {
    const { page } = await browser.newPage();
    await page.addInitScript(CLS_OBSERVER);
    await page.addInitScript(`
      addEventListener('DOMContentLoaded', () => {
        const style = document.createElement('style');
        style.textContent = '[data-rx-slot]{min-height:0 !important}';
        document.head.append(style);
      });
    `);
    const product = catalogue.products[0];
    if (!product) throw new Error('empty catalogue');
    await page.goto(shopUrl(`/products/${product.product_id}`));
    await fillAllSlots(page);
    await page.locator('[data-rx-slot] .rx-block').first().waitFor();
    expect((await layoutShift(page)).cls).toBeGreaterThan(0);
  }, 90_000);

  it('stores an add-to-cart in MongoDB exactly once, across the form post and redirect', async () => {
    const { page, errors } = await browser.newPage();
    const product = catalogue.products[1];
    if (!product) throw new Error('catalogue too small');
    await page.goto(shopUrl(`/products/${product.product_id}`));
    await page.waitForFunction("typeof window.rx.track === 'function'");
    const anonymousId = await anonymousIdOf(page);

    // The demo shop's add-to-cart is a form POST answered by a redirect: the event must survive it.
    await Promise.all([page.waitForURL(/\/cart$/), page.click('[data-rx-add-to-cart]')]);
    const count = (event: string) =>
      events().countDocuments({ anonymousId, event, 'properties.product_id': product.product_id });
    await expect.poll(() => count('Product Added'), { timeout: 30_000 }).toBe(1);
    const added = await events().findOne({ anonymousId, event: 'Product Added' });
    expect(added?.properties).toMatchObject({ product_id: product.product_id, quantity: 1 });
    // Stored under its messageId, the idempotency key that makes re-sends harmless.
    expect(added?._id).toBe(added?.messageId);
    expect(await count('Product Viewed')).toBe(1);
    // A re-send (the cart page restores anything in flight at unload) must not store it again. A
    // sentinel event tracked after the reload is sent after anything restored (or with it), so once it
    // is in MongoDB, the consumer has had any re-send too.
    await page.reload();
    await page.waitForFunction("typeof window.rx.track === 'function'");
    await page.evaluate("rx.track('Sentinel'); rx.flush()");
    await expect
      .poll(() => events().countDocuments({ anonymousId, event: 'Sentinel' }), { timeout: 30_000 })
      .toBe(1);
    expect(await count('Product Added')).toBe(1);
    expect(errors).toEqual([]);
  }, 90_000);

  it('stores a recommendation click in MongoDB exactly once', async () => {
    const { page, errors } = await browser.newPage();
    const product = catalogue.products[1];
    if (!product) throw new Error('catalogue too small');
    await page.goto(shopUrl(`/products/${product.product_id}`));
    await fillAllSlots(page);
    const anonymousId = await anonymousIdOf(page);
    const link = page.locator('[data-rx-slot] .rx-link').first();
    await link.waitFor({ timeout: 5_000 });
    const clickedId = await link.getAttribute('data-rx-product-id');
    await Promise.all([page.waitForURL(/\/products\//), link.click()]);

    const count = (event: string) =>
      events().countDocuments({ anonymousId, event, 'properties.product_id': clickedId });
    await expect.poll(() => count('Recommendation Clicked'), { timeout: 30_000 }).toBe(1);
    expect(await count('Product Clicked')).toBe(1);
    const click = await events().findOne({ anonymousId, event: 'Recommendation Clicked' });
    expect(click?.properties).toMatchObject({ position: 1, placement: 'product' });
    expect(await events().countDocuments({ anonymousId, event: 'Recommendation Shown' })).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  }, 90_000);

  it('with data-consent="required" sends no event before consent', async () => {
    const { page, errors } = await browser.newPage();
    // The shop's theme configured for consent: the attribute is on the tag before the script runs.
    // (Rewriting the document with page.route would move it out of the loopback address space, and
    // Chromium's Local Network Access checks would then block rx.js itself.)
    await page.addInitScript(`
      new MutationObserver((_, observer) => {
        const tag = document.querySelector('script[data-site]');
        if (!tag) return;
        tag.setAttribute('data-consent', 'required');
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true });
    `);
    const eventPosts: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/v1/events')) eventPosts.push(request.method());
    });
    const product = catalogue.products[2];
    if (!product) throw new Error('catalogue too small');
    await page.goto(shopUrl(`/products/${product.product_id}`));
    await fillAllSlots(page);
    await page.evaluate("rx.track('Before Consent'); rx.flush()");
    // The sentinel: a request the plugin does make before consent (a new slot's recommendations),
    // asked for after the flush; once it is answered, a (wrong) event post would have been seen.
    await page.evaluate(`const slot = document.createElement('div');
      slot.id = 'sentinel';
      slot.dataset.rxSlot = 'recommendations';
      slot.dataset.rxPlacement = 'home';
      document.body.prepend(slot);
      window.scrollTo(0, 0);
      rx.scan();`);
    await page.locator('#sentinel .rx-block').waitFor({ timeout: 30_000 });
    expect(eventPosts).toEqual([]);
    expect((await page.context().cookies(shopUrl('/'))).some((c) => c.name === 'rx_uid')).toBe(false);

    await page.evaluate('rx.consent(true)');
    const anonymousId = await anonymousIdOf(page);
    await expect
      .poll(() => events().countDocuments({ anonymousId, event: 'Before Consent' }), { timeout: 30_000 })
      .toBe(1);
    expect(errors).toEqual([]);
  }, 90_000);

  it('leaves the shop working when the API is blocked', async () => {
    const { page, errors } = await browser.newPage();
    await page.route(`${stack.workerUrl}/v1/**`, (route) => route.abort('blockedbyclient'));
    const product = catalogue.products[3];
    if (!product) throw new Error('catalogue too small');
    await page.goto(shopUrl(`/products/${product.product_id}`));
    await fillAllSlots(page);
    expect(await page.locator('[data-rx-slot] .rx-block').count()).toBe(0);
    // The shop's own features still work: add to cart goes through to the cart page.
    await Promise.all([page.waitForURL(/\/cart$/), page.click('[data-rx-add-to-cart]')]);
    expect(await page.locator('[data-cart-count]').textContent()).not.toBe('0');
    expect(errors).toEqual([]);
  }, 90_000);
});
