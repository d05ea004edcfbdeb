/**
 * Decisions of rx.js that a mutation audit (2026-12-02) found no browser test could fail on: each test
 * here fails with the decision reversed in storefront-plugin/src and passes without. Same setup as
 * plugin-behaviour.test.ts: the minified build in Chromium against the recording API.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RxEventInput } from '../../contracts/event-types';
import { api, browser, usePluginInChromium } from './plugin-in-chromium';

usePluginInChromium();

/** A product page in script mode with a slot in view; `tag` adds attributes to the script tag. */
function shopPage(tag = ''): string {
  return `<!doctype html><html><head><title>Heart holder</title>
<script src="${api.apiUrl}/rx.js" async data-site="demo" ${tag}></script>
</head><body>
<main data-rx-view data-rx-product-id="85123A"><h1>Heart holder</h1></main>
<div id="slot" data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A" data-rx-limit="2"></div>
</body></html>`;
}

/** Events wait up to 5 s for their batch timer; polls wait longer than that. */
const POLL = { timeout: 10_000 } as const;

const named = (name: string) => (e: RxEventInput) => (e.type === 'track' ? e.event : e.type) === name;

async function open(page: Page, html: string): Promise<void> {
  api.setPage(html);
  await page.goto(`${api.shopUrl}/products/85123A`);
  await page.waitForFunction("typeof window.rx.track === 'function'");
}

/** Browser code run before the page's: every console.warn's first argument, in `window.warnings`. */
const RECORD_WARNINGS = `window.warnings = [];
{ const warn = console.warn.bind(console);
  console.warn = (...args) => { window.warnings.push(String(args[0])); warn(...args); }; }`;

describe('rx.js decisions (mutation audit)', () => {
  it('logs nothing to the console without data-debug, even when the API fails', async () => {
    const { page, errors } = await browser.newPage();
    await page.addInitScript(RECORD_WARNINGS);
    await page.route(`${api.apiUrl}/v1/**`, (route) => route.abort('blockedbyclient'));
    await open(page, shopPage());
    // The slot's failure is reported (debug mode) in the same step that marks it failed.
    await page.waitForFunction("document.querySelector('#slot').dataset.rxState === 'failed'");
    expect(await page.evaluate('window.warnings')).toEqual([]);
    // The control: the same page with data-debug says so (the one line debug mode logs).
    await open(page, shopPage('data-debug'));
    await page.waitForFunction("document.querySelector('#slot').dataset.rxState === 'failed'");
    // (Its first problem, which need not be the slot's: the events left by the first page fail first.)
    expect(await page.evaluate('window.warnings')).toEqual([expect.stringMatching(/^\[rx\] /)]);
    expect(errors).toEqual([]);
  });

  it('never sends what was tracked while consent was refused, even once it is granted again', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage('data-consent="required"'));
    await page.evaluate("rx.consent(true); rx.consent(false); rx.track('While Refused'); rx.consent(true)");
    await page.evaluate("rx.track('After Regrant'); rx.flush()");
    await expect.poll(() => api.events.filter(named('After Regrant')).length, POLL).toBe(1);
    expect(api.events.filter(named('While Refused'))).toHaveLength(0);
    expect(errors).toEqual([]);
  });

  it('sends one Product Viewed per page view when the app renders the same product view anew', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage());
    await expect.poll(() => api.events.filter(named('Product Viewed')).length, POLL).toBe(1);
    // Hydration that replaces the server's markup, or a re-render with a new element: the same view.
    await page.evaluate(`const fresh = document.querySelector('main').cloneNode(true);
      document.querySelector('main').replaceWith(fresh);
      rx.scan(); rx.track('Marker'); rx.flush()`);
    // Anything the scan recorded went out with the marker, or before it.
    await expect.poll(() => api.events.filter(named('Marker')).length, POLL).toBe(1);
    expect(api.events.filter(named('Product Viewed'))).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('retries a batch answered 429 (rate limited) instead of dropping it as a refusal', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage());
    api.failNextEventPosts(1, 429);
    await page.evaluate("rx.track('Rate Limited Once'); rx.flush()");
    await expect.poll(() => api.requests.some((r) => r.body?.includes('Rate Limited Once')), POLL).toBe(true);
    // Kept for a retry: a flush once the answer is in sends it again (one while the refused request is
    // still in flight sends nothing, hence the repeats).
    const flushed = async () => {
      await page.evaluate('rx.flush()');
      return api.events.filter(named('Rate Limited Once')).length;
    };
    await expect.poll(flushed, POLL).toBe(1);
    expect(errors).toEqual([]);
  });

  it('backs off from 10 s doubling to at most 60 s between retries while the intake fails', async () => {
    const { page, errors } = await browser.newPage();
    // The page's clock stands still but for runFor: the delays below are exact, not measured.
    await page.clock.install({ time: new Date('2026-12-02T12:00:00Z') });
    await page.clock.pauseAt(new Date('2026-12-02T12:01:00Z'));
    // Each event post's start and settling, on that clock.
    await page.addInitScript(`window.posts = [];
      { const original = window.fetch;
        window.fetch = (url, init) => {
          const promise = original(url, init);
          if (init?.method !== 'POST') return promise;
          const post = { sent: Date.now() };
          window.posts.push(post);
          promise.finally(() => { post.settled = Date.now(); });
          return promise;
        }; }`);
    api.failNextEventPosts(1_000);
    await open(page, shopPage());
    await page.evaluate("rx.track('During Outage'); rx.flush()");
    const delays: number[] = [];
    for (let n = 1; n <= 5; n++) {
      await page.waitForFunction(
        `window.posts.length === ${n} && window.posts[${n - 1}].settled !== undefined`,
      );
      // Past any back-off: the retry's timer fires at its exact delay after the failure settled.
      await page.clock.runFor(61_000);
      await page.waitForFunction(`window.posts.length === ${n + 1}`);
      delays.push(await page.evaluate(`window.posts[${n}].sent - window.posts[${n - 1}].settled`));
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(errors).toEqual([]);
  });

  it("keeps a slot's block for its new product when the answer for its earlier one comes afterwards", async () => {
    const { page, errors } = await browser.newPage();
    // `window.firstHandled` once the plugin has had the first product's answer: set in a task after
    // the answer's JSON resolved, so after the plugin's continuations (microtasks) ran.
    await page.addInitScript(`{
      const original = window.fetch;
      window.fetch = (url, init) => {
        const promise = original(url, init);
        if (!String(url).includes('product_id=85123A')) return promise;
        return promise.then((response) => {
          const json = response.json.bind(response);
          response.json = () => json().then((value) => { setTimeout(() => { window.firstHandled = true; }); return value; });
          return response;
        });
      }; }`);
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const asked: string[] = [];
    await page.route(`${api.apiUrl}/v1/recommendations**`, async (route) => {
      const productId = new URL(route.request().url()).searchParams.get('product_id') ?? '';
      asked.push(productId);
      if (productId === '85123A') await released;
      await route.continue();
    });
    await open(page, shopPage());
    await expect.poll(() => asked, POLL).toEqual(['85123A']);
    await page.evaluate("document.querySelector('#slot').dataset.rxProductId = '22423'; rx.scan()");
    await page.locator('#slot .rx-block').waitFor();
    const block = () => page.locator('#slot .rx-block').getAttribute('data-rx-recommendation-id');
    const newer = await block();
    release();
    await page.waitForFunction('window.firstHandled === true');
    expect(await block()).toBe(newer);
    expect(await page.locator('#slot .rx-block').count()).toBe(1);
    // Only the block on screen was shown.
    await page.evaluate("rx.track('Marker'); rx.flush()");
    await expect.poll(() => api.events.filter(named('Marker')).length, POLL).toBe(1);
    expect(
      api.events.filter(named('Recommendation Shown')).map((e) => e.properties?.recommendation_id),
    ).toEqual([newer]);
    expect(asked).toEqual(['85123A', '22423']);
    expect(errors).toEqual([]);
  });

  it('leaves a price proxy mode already wrote alone: its token stays and nothing asks for it again', async () => {
    const { page, errors } = await browser.newPage();
    await open(
      page,
      shopPage().replace(
        '<main',
        '<span id="proxied" data-rx-price data-rx-product-id="22423" data-rx-state="priced" data-rx-price-token="proxy-token">£2.10</span><main',
      ),
    );
    // The slot's request goes after the prices' would have (the scan asks for prices before the
    // observer fills the slot).
    await page.locator('#slot .rx-block').waitFor();
    expect(api.requests.filter((r) => r.path.startsWith('/v1/prices'))).toEqual([]);
    expect(await page.locator('#proxied').getAttribute('data-rx-price-token')).toBe('proxy-token');
    expect(await page.locator('#proxied').getAttribute('data-rx-state')).toBe('priced');
    expect(errors).toEqual([]);
  });

  it("drops an element's price token when the app switches it to a product whose price is not personalized", async () => {
    const { page, errors } = await browser.newPage();
    await open(
      page,
      shopPage().replace(
        '<main',
        '<span id="price" data-rx-price data-rx-product-id="22423">£2.55</span><main',
      ),
    );
    await expect
      .poll(() => page.locator('#price').getAttribute('data-rx-price-token'), POLL)
      .toBe('token-22423');
    await page.evaluate("document.querySelector('#price').dataset.rxProductId = 'BASE-2'; rx.scan()");
    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state'), POLL).toBe('base');
    // The earlier product's token would have checkout charge its price for this one.
    expect(await page.locator('#price').getAttribute('data-rx-price-token')).toBeNull();
    expect(errors).toEqual([]);
  });

  it('writes no price token for a personalized price the worker signed none for (no signing key)', async () => {
    const { page, errors } = await browser.newPage();
    await page.route(`${api.apiUrl}/v1/prices**`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        headers: { 'access-control-allow-origin': '*' },
        body: JSON.stringify({
          prices: [
            {
              product_id: '22423',
              currency: 'GBP',
              base_price: 2.55,
              price: 2.1,
              discount: 0.45,
              personalized: true,
              token: null,
            },
          ],
        }),
      }),
    );
    await open(
      page,
      shopPage().replace(
        '<main',
        '<span id="price" data-rx-price data-rx-product-id="22423">£2.55</span><main',
      ),
    );
    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state'), POLL).toBe('priced');
    expect(await page.locator('#price').textContent()).toBe('£2.10');
    expect(await page.locator('#price').getAttribute('data-rx-price-token')).toBeNull();
    expect(errors).toEqual([]);
  });
});
