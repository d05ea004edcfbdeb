/**
 * The built rx.js in real headless Chromium, against a recording API on a second origin
 * (script mode is cross-origin). Covers what needs control over the API: batching, consent,
 * retries across a reload, a blocked API, GPC and single-page navigation. The same bundle against
 * the real worker and MongoDB is plugin-stack.test.ts.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { MAX_QUERY_LENGTH } from '../../contracts/api-types';
import type { RxEventInput } from '../../contracts/event-types';
import { RX_BLOCK_STYLES } from '../../contracts/markup-block-styles';
import { PLACEMENT_HEADINGS } from '../../contracts/slot-defaults';
import { api, browser, usePluginInChromium } from './plugin-in-chromium';

// A fresh browser context per test: no cookie, consent or queued event carries over.
usePluginInChromium();

/** A product page of a shop in script mode; `tag` adds attributes to the plugin's script tag. */
function shopPage(options: { tag?: string; stub?: string; slotBelowFold?: boolean } = {}): string {
  const spacer = options.slotBelowFold ? '<div style="height:3000px"></div>' : '';
  return `<!doctype html><html><head><title>Heart holder</title>
<style data-rx-styles>[data-rx-slot]{display:block;min-height:300px}</style>
<script>window.rx=window.rx||[];${options.stub ?? ''}</script>
<script src="${api.apiUrl}/rx.js" async data-site="demo" ${options.tag ?? ''}></script>
</head><body>
<main data-rx-view data-rx-product-id="85123A"><h1>Heart holder</h1>
<span id="price" data-rx-price data-rx-product-id="85123A">£2.55</span>
<form onsubmit="return false"><input name="quantity" value="2">
<button id="add" type="button" data-rx-add-to-cart data-rx-product-id="85123A">Add to cart</button></form></main>
${spacer}
<div id="slot" data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A" data-rx-limit="2"><p class="fallback">Our bestsellers</p></div>
<script>window.hostScriptRan = true;</script>
</body></html>`;
}

/** A logged-in shopper's id as a shop's login service makes it. */
const SHOP_USER = "auth0|o'brién";
const SHOP_USER_SIGNATURE = 'ab'.repeat(32);

/** Events wait up to 5 s for their batch timer; polls wait longer than that. */
const POLL = { timeout: 10_000 } as const;

const named = (name: string) => (e: RxEventInput) => (e.type === 'track' ? e.event : e.type) === name;
/**
 * Distinct events (by messageId) of a name. Delivery is at least once: an event whose request was
 * in flight when the page unloaded is sent again by the next page, with the same messageId, which
 * the worker stores once (plugin-stack.test.ts checks MongoDB).
 */
const distinct = (name: string) => new Set(api.events.filter(named(name)).map((e) => e.messageId)).size;
/**
 * The events stored for retry, as one JSON array: every page's own `rx_q.<id>` key (and a legacy `rx_q`).
 * Browser-side code is passed as strings: the Node tsconfig has no DOM types (and should not).
 */
const STORED_QUEUE =
  'JSON.stringify(Object.keys(localStorage).filter((k) => /^rx_q(\\.|$)/.test(k)).flatMap((k) => JSON.parse(localStorage.getItem(k))))';
const eventsPosted = () => api.requests.filter((r) => r.method === 'POST' && r.path === '/v1/events').length;

/** Browser code: a new home slot `#slot2`, put in the page by `insert`, then `then` (rx.scan, a navigation). */
function addHomeSlot(insert: string, then: string): string {
  return `const slot = document.createElement('div');
    slot.id = 'slot2';
    slot.dataset.rxSlot = 'recommendations';
    slot.dataset.rxPlacement = 'home';
    ${insert};
    ${then};`;
}

/**
 * The sentinel for "nothing was sent": a home slot `#sentinel` put at the top of the page (in view)
 * and scanned, then waited for until filled. The plugin asks for its recommendations (allowed with or
 * without consent) after everything the page did before, so once the answer is rendered, a request
 * that should not have been sent by then would have reached the recording API first.
 */
async function sentinelSlotFilled(page: Page): Promise<void> {
  await page.evaluate(
    `const slot = document.createElement('div');
    slot.id = 'sentinel';
    slot.dataset.rxSlot = 'recommendations';
    slot.dataset.rxPlacement = 'home';
    document.body.prepend(slot);
    rx.scan();`,
  );
  await page.locator('#sentinel .rx-block').waitFor();
}

/**
 * A shop whose policy refuses inline styles serves the block rules as a file of its own
 * (`/rx-styles.css`), marked as docs/plugin.md marks the inline copy; returns the page's console errors.
 */
async function withLinkedStyles(page: Page): Promise<string[]> {
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  await page.route('**/rx-styles.css', (route) =>
    route.fulfill({ status: 200, contentType: 'text/css', body: RX_BLOCK_STYLES }),
  );
  return consoleErrors;
}

/** The slot filled and styled by the linked rules alone: no inline <style>, no violation, no console error. */
async function expectLinkedStylesOnly(page: Page, consoleErrors: string[]): Promise<void> {
  await page.locator('#slot .rx-block').waitFor();
  expect(await page.evaluate("document.querySelectorAll('style').length")).toBe(0);
  // The linked rules style the block (`.rx-block{margin:1.5rem 0}`).
  expect(await page.evaluate("getComputedStyle(document.querySelector('#slot .rx-block')).marginTop")).toBe(
    '24px',
  );
  expect(await page.evaluate('window.violations')).toEqual([]);
  expect(consoleErrors).toEqual([]);
}

async function open(page: Page, html: string): Promise<void> {
  api.setPage(html);
  await page.goto(`${api.shopUrl}/products/85123A`);
  await page.waitForFunction("typeof window.rx.track === 'function'");
}

describe('rx.js in Chromium (recording API)', () => {
  it('runs before the page is parsed (a cached script) and still fills its slots, prices and view', async () => {
    const { page, errors } = await browser.newPage();
    // The head (with the async tag) arrives at once, the body 1.5 s later: rx.js runs in between,
    // while document.readyState is 'loading' and there is no slot, price or product id yet.
    // The stub notes the document's state when the plugin installs itself as window.rx.
    const noteBoot =
      'let installed = window.rx; Object.defineProperty(window, "rx", { configurable: true, ' +
      'get: () => installed, set: (rx) => { installed = rx; window.rxBootState = document.readyState; } });';
    api.setPage(shopPage({ stub: noteBoot }), { holdBodyMs: 1_500 });
    await page.goto(`${api.shopUrl}/products/85123A`, { waitUntil: 'commit' });
    await page.waitForFunction("typeof window.rx.track === 'function'", undefined, { polling: 50 });
    expect(await page.evaluate('window.rxBootState')).toBe('loading');

    await page.locator('#slot .rx-block').waitFor();
    expect(await page.locator('#slot .rx-item').count()).toBe(2);
    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state')).toBe('priced');
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('Product Viewed'), POLL).toBe(1);
    expect(errors).toEqual([]);
  });

  it('counts one page view when the app pushes its URL before the page is parsed, with the script already running', async () => {
    const { page, errors } = await browser.newPage();
    const noteBoot =
      'let installed = window.rx; Object.defineProperty(window, "rx", { configurable: true, ' +
      'get: () => installed, set: (rx) => { installed = rx; window.rxBootState = document.readyState; } });';
    // As in the test before, rx.js runs before the body arrives; a script in the body (a framework's
    // boot) then sets the page's canonical URL before DOMContentLoaded, the plugin's first page view.
    const html = shopPage({ stub: noteBoot }).replace(
      '<script>window.hostScriptRan = true;</script>',
      "<script>history.pushState({}, '', '/products/85123A/white');</script>",
    );
    api.setPage(html, { holdBodyMs: 1_500 });
    await page.goto(`${api.shopUrl}/products/85123A`, { waitUntil: 'commit' });
    await page.waitForFunction("typeof window.rx.track === 'function'", undefined, { polling: 50 });
    expect(await page.evaluate('window.rxBootState')).toBe('loading');
    await page.locator('#slot .rx-block').waitFor();
    // Past the tick a navigation's scan waits for; then everything recorded goes in one batch.
    await page.evaluate('new Promise((resolve) => setTimeout(resolve, 50)).then(() => rx.flush())');
    await expect.poll(() => distinct('Product Viewed'), POLL).toBeGreaterThan(0);
    expect(api.events.filter((e) => e.type === 'page').map((e) => e.properties?.path)).toEqual([
      '/products/85123A/white',
    ]);
    expect(distinct('Product Viewed')).toBe(1);
    expect(errors).toEqual([]);
  });

  it('leaves a base price (personalized: false) as the shop prints it: no rewrite, no token, no price reported', async () => {
    const { page, errors } = await browser.newPage();
    // The model catalogue's base price (£3) can be older than the shop's (€9,99 here): the shop's stands.
    const basePriced =
      '<span id="base" data-rx-price data-rx-product-id="BASE-1">€9,99</span>' +
      '<button id="add-base" type="button" data-rx-add-to-cart data-rx-product-id="BASE-1">Add</button>';
    await open(page, shopPage().replace('<main ', `${basePriced}<main `));

    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state'), POLL).toBe('priced');
    expect(await page.locator('#base').getAttribute('data-rx-state')).toBe('base');
    expect(await page.locator('#base').textContent()).toBe('€9,99');
    expect(await page.locator('#base').getAttribute('data-rx-price-token')).toBeNull();
    await page.click('#add-base');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    const added = api.events.find(named('Product Added'));
    expect(added?.properties).toMatchObject({ product_id: 'BASE-1', quantity: 1 });
    expect(added?.properties).not.toHaveProperty('price');
    expect(errors).toEqual([]);
  });

  it('rewrites only the base price the shop printed: stale, other, struck-through, range and other-currency prices stay, with no token', async () => {
    const { page, errors } = await browser.newPage();
    // The API's quote for every id here: base £2.55, this shopper £2.10.
    const prices =
      // The shop raised it (or the price is another product's): not the catalogue's base price.
      '<span id="stale" data-rx-price data-rx-product-id="STALE-1">£3.00</span>' +
      '<button id="add-stale" type="button" data-rx-add-to-cart data-rx-product-id="STALE-1">Add</button>' +
      // "Was" and "now": the struck-through one is never ours, even at the base price.
      '<del><span id="was" data-rx-price data-rx-product-id="SALE-1">£2.55</span></del>' +
      '<s id="was-s" data-rx-price data-rx-product-id="SALE-1">£2.55</s>' +
      '<span id="now" data-rx-price data-rx-product-id="SALE-1">£2.55</span>' +
      '<span id="range" data-rx-price data-rx-product-id="RANGE-1">£2.55 - £3.00</span>' +
      '<span id="unit" data-rx-price data-rx-product-id="UNIT-1">£2.55/kg</span>' +
      '<span id="sold-out" data-rx-price data-rx-product-id="OUT-1">Sold out</span>' +
      // The base price's number in another currency (a multi-currency shop), by sign and by code.
      '<span id="euro" data-rx-price data-rx-product-id="EUR-1">€2.55</span>' +
      '<span id="euro-code" data-rx-price data-rx-product-id="EUR-2">2,55 EUR</span>' +
      // Another spelling of the base price, and the shopper's price proxy mode already wrote.
      '<span id="grouped" data-rx-price data-rx-product-id="DE-1">2,55 £</span>' +
      '<span id="proxied" data-rx-price data-rx-product-id="PROXIED-1">£2.10</span>' +
      // The quote's own code, and capitals that are no currency code.
      '<span id="code" data-rx-price data-rx-product-id="GBP-1">GBP 2.55</span>' +
      '<span id="vat" data-rx-price data-rx-product-id="VAT-1">£2.55 inc VAT</span>';
    await open(page, shopPage().replace('<main ', `${prices}<main `));

    await expect.poll(() => page.locator('#proxied').getAttribute('data-rx-state'), POLL).toBe('priced');
    const seen = async (id: string) => {
      const element = page.locator(`#${id}`);
      return [
        await element.textContent(),
        await element.getAttribute('data-rx-state'),
        await element.getAttribute('data-rx-price-token'),
      ];
    };
    expect(await seen('stale')).toEqual(['£3.00', 'mismatch', null]);
    expect(await seen('was')).toEqual(['£2.55', null, null]);
    expect(await seen('was-s')).toEqual(['£2.55', null, null]);
    expect(await seen('now')).toEqual(['£2.10', 'priced', 'token-SALE-1']);
    expect(await seen('range')).toEqual(['£2.55 - £3.00', 'mismatch', null]);
    expect(await seen('unit')).toEqual(['£2.55/kg', 'mismatch', null]);
    expect(await seen('sold-out')).toEqual(['Sold out', 'mismatch', null]);
    expect(await seen('euro')).toEqual(['€2.55', 'mismatch', null]);
    expect(await seen('euro-code')).toEqual(['2,55 EUR', 'mismatch', null]);
    expect(await seen('grouped')).toEqual(['2,10 £', 'priced', 'token-DE-1']);
    expect(await seen('proxied')).toEqual(['£2.10', 'priced', 'token-PROXIED-1']);
    expect(await seen('code')).toEqual(['GBP 2.10', 'priced', 'token-GBP-1']);
    expect(await seen('vat')).toEqual(['£2.10 inc VAT', 'priced', 'token-VAT-1']);
    // A price the shopper was not shown is not reported with the product added.
    await page.click('#add-stale');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    expect(api.events.find(named('Product Added'))?.properties).not.toHaveProperty('price');
    expect(errors).toEqual([]);
  });

  it('ends an element with a malformed quote failed, untouched and without a token, and prices the rest', async () => {
    const { page, errors } = await browser.newPage();
    // The fixture API quotes BADPRICE-* with the price as a string and BADBASE-* with a null base price.
    const prices =
      '<span id="bad-price" data-rx-price data-rx-product-id="BADPRICE-1">£2.55</span>' +
      '<span id="bad-base" data-rx-price data-rx-product-id="BADBASE-1">£2.55</span>' +
      '<button id="add-bad" type="button" data-rx-add-to-cart data-rx-product-id="BADPRICE-1">Add</button>';
    await open(page, shopPage().replace('<main ', `${prices}<main `));
    // #price comes after them: before the fix, formatting threw and left it `loading` for good.
    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state'), POLL).toBe('priced');
    for (const id of ['bad-price', 'bad-base']) {
      expect(await page.locator(`#${id}`).textContent(), id).toBe('£2.55');
      expect(await page.locator(`#${id}`).getAttribute('data-rx-state'), id).toBe('failed');
      expect(await page.locator(`#${id}`).getAttribute('data-rx-price-token'), id).toBeNull();
    }
    await page.click('#add-bad');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    expect(api.events.find(named('Product Added'))?.properties).not.toHaveProperty('price');
    expect(errors).toEqual([]);
  });

  it("replaces only the number of a price, keeping the shop's markup and spaces", async () => {
    const { page, errors } = await browser.newPage();
    const prices =
      // WooCommerce: the number, a no-break space and the symbol in a span of its own.
      '<span id="woo" data-rx-price data-rx-product-id="WOO-1"><bdi>2,55&nbsp;<span class="woocommerce-Price-currencySymbol">£</span></bdi></span>' +
      '<span id="spaced" data-rx-price data-rx-product-id="SPACED-1"> £2.55 </span>' +
      // A number split across elements cannot be replaced in one text node: the whole text, as before.
      '<span id="split" data-rx-price data-rx-product-id="SPLIT-1">£2<b>.</b>55</span>';
    await open(page, shopPage().replace('<main ', `${prices}<main `));
    await expect.poll(() => page.locator('#split').getAttribute('data-rx-state'), POLL).toBe('priced');
    expect(await page.locator('#woo').innerHTML()).toBe(
      '<bdi>2,10&nbsp;<span class="woocommerce-Price-currencySymbol">£</span></bdi>',
    );
    expect(await page.locator('#woo').getAttribute('data-rx-state')).toBe('priced');
    expect(await page.locator('#spaced').evaluate((el) => el.innerHTML)).toBe(' £2.10 ');
    expect(await page.locator('#split').textContent()).toBe('£2.10');
    expect(errors).toEqual([]);
  });

  it('sends a whole quantity for a decimal quantity field', async () => {
    const { page, errors } = await browser.newPage();
    await open(
      page,
      shopPage().replace(
        '<input name="quantity" value="2">',
        '<input name="quantity" step="0.5" value="1.5">',
      ),
    );
    await page.click('#add');
    // The intake takes whole numbers only: 1.5 would make the whole event invalid.
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    expect(api.events.find(named('Product Added'))?.properties).toMatchObject({
      product_id: '85123A',
      quantity: 2,
    });
    expect(errors).toEqual([]);
  });

  it('counts no page view for a change of the fragment only (in-page links, hash pushState)', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage().replace('<main ', '<a id="to-reviews" href="#reviews">Reviews</a><main '));
    await page.click('#to-reviews');
    await page.evaluate("history.pushState({}, '', '#tab-2')");
    // A real navigation after them, as a marker: its page view follows any (wrong) earlier one. The app
    // reuses the view for its next product (the same view kept on screen is no new product view).
    await page.evaluate(
      "document.querySelector('main').dataset.rxProductId = '22423'; history.pushState({}, '', '/next-view#top')",
    );
    await page.evaluate('new Promise((resolve) => setTimeout(resolve, 50)).then(() => rx.flush())');
    const paths = () => api.events.filter((e) => e.type === 'page').map((e) => e.properties?.path);
    await expect.poll(paths, POLL).toContain('/next-view');
    expect(paths()).toEqual(['/products/85123A', '/next-view']);
    expect(distinct('Product Viewed')).toBe(2);
    expect(errors).toEqual([]);
  });

  it("prints block prices like the page's first single price in the tag's currency, not a range or another currency", async () => {
    const { page, errors } = await browser.newPage();
    // The page's first prices: a range, then a price of another currency; the shop's own £2.55 is third.
    const firstPrices =
      '<span id="range" data-rx-price data-rx-product-id="RANGE-1">£6.38 - £3.95</span>' +
      '<span id="euro" data-rx-price data-rx-product-id="EUR-1">€9,99</span>';
    await open(page, shopPage({ tag: 'data-currency="GBP"' }).replace('<main ', `${firstPrices}<main `));
    await page.locator('#slot .rx-block').waitFor();
    // The fixture's items cost 2.55 and 12.75 (GBP).
    expect(await page.locator('#slot .rx-price').allTextContents()).toEqual(['£2.55', '£12.75']);
    expect(errors).toEqual([]);
    // Sent now, not by the closing page's keepalive request, which could reach the shared API during
    // the next test and count there.
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('page'), POLL).toBe(1);
  });

  it('takes data-currency in any letter case: "gbp" lets the page\'s "GBP 2.55" be the block price format', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage({ tag: 'data-currency="gbp"' }).replace('>£2.55<', '>GBP 2.55<'));
    await page.locator('#slot .rx-block').waitFor();
    expect(await page.locator('#slot .rx-price').allTextContents()).toEqual(['GBP 2.55', 'GBP 12.75']);
    expect(errors).toEqual([]);
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('page'), POLL).toBe(1);
  });

  it('fills slots and prices and tracks views, add-to-cart and clicks once each', async () => {
    const { page, errors } = await browser.newPage();
    // An Auth0-style id with an apostrophe and an accent: the API takes any id the events take.
    // With the shop server's signature, for a worker that sets USER_ID_SECRET.
    const identify = JSON.stringify(['identify', SHOP_USER, undefined, { signature: SHOP_USER_SIGNATURE }]);
    await open(page, shopPage({ stub: `rx.push(${identify});` }));

    await page.locator('#slot .rx-block').waitFor();
    // Titles are escaped by the shared renderer: "<3 tier>" is text, not an element.
    expect(await page.locator('#slot .rx-title').nth(1).textContent()).toBe('Regency cakestand <3 tier>');
    expect(await page.locator('#slot .fallback').count()).toBe(0);
    // The price keeps the shop's formatting, and carries its signed token for the checkout.
    await expect.poll(() => page.locator('#price').textContent(), POLL).toBe('£2.10');
    expect(await page.locator('#price').getAttribute('data-rx-price-token')).toBe('token-85123A');

    await page.click('#add');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    const added = api.events.find(named('Product Added'));
    expect(added?.properties).toMatchObject({
      product_id: '85123A',
      quantity: 2,
      price: 2.1,
      currency: 'GBP',
    });

    // The click flushed everything queued before it: the page view, the product view, the impression.
    for (const name of ['identify', 'page', 'Product Viewed', 'Recommendation Shown']) {
      expect(distinct(name), name).toBe(1);
    }
    const [first] = api.events;
    expect(first?.anonymousId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(api.events.every((e) => e.anonymousId === first?.anonymousId && e.userId === SHOP_USER)).toBe(
      true,
    );
    // The API learns who asks from the header, never from a third-party cookie.
    const recommendation = api.requests.find(
      (r) => r.method === 'GET' && r.path.startsWith('/v1/recommendations'),
    );
    expect(recommendation?.headers['x-rx-uid']).toBe(first?.anonymousId);
    expect(recommendation?.headers.cookie).toBeUndefined();
    // The shop's user id travels in a header, out of URLs and the logs that keep them.
    expect(recommendation?.headers['x-rx-user-id']).toBe(encodeURIComponent(SHOP_USER));
    expect(recommendation?.headers['x-rx-user-sig']).toBe(SHOP_USER_SIGNATURE);
    expect(recommendation?.path).not.toContain('user_id');
    expect(recommendation?.path).not.toContain('tracking=');

    await page.locator('#slot a.rx-link').first().click();
    await expect.poll(() => distinct('Recommendation Clicked'), POLL).toBe(1);
    expect(distinct('Product Clicked')).toBe(1);
    const click = api.events.find(named('Product Clicked'));
    expect(click?.properties).toMatchObject({ product_id: '85123A', position: 1, placement: 'product' });
    expect(click?.properties?.recommendation_id).toMatch(/^rec-/);
    expect(errors).toEqual([]);
  });

  it('tells the worker a new id is new (x-rx-uid-new) until its first events are accepted, and not on the next page', async () => {
    const { page } = await browser.newPage();
    const recommendationCalls = () =>
      api.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/recommendations'));
    await open(page, shopPage());
    await page.locator('#slot .rx-block').waitFor();
    const [first] = recommendationCalls();
    expect(first?.headers['x-rx-uid-new']).toBe('1');
    const id = first?.headers['x-rx-uid'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    // Events accepted: the worker may hold something for this id now, so later calls do not say "new".
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('Product Viewed'), POLL).toBe(1);
    // The fake API has the events before the page has its answer: wait until the page took the 202
    // (it empties its stored queue and forgets "new" in the same step), or the next call may race it.
    await expect.poll(() => page.evaluate(STORED_QUEUE), POLL).toBe('[]');
    await page.evaluate(addHomeSlot("document.querySelector('main').after(slot)", 'rx.scan()'));
    await page.locator('#slot2 .rx-block').waitFor();
    const second = recommendationCalls()[1];
    expect(second?.headers['x-rx-uid']).toBe(id);
    expect(second?.headers['x-rx-uid-new']).toBeUndefined();

    // The next page reads the id from its cookie: not new, whatever was sent before.
    api.requests.length = 0;
    await page.reload();
    await page.locator('#slot .rx-block').waitFor();
    const next = recommendationCalls()[0];
    expect(next?.headers['x-rx-uid']).toBe(id);
    expect(next?.headers['x-rx-uid-new']).toBeUndefined();
  });

  it("renews the rx_uid cookie on every page, so a returning shopper's id does not expire", async () => {
    const { page } = await browser.newPage();
    const uidCookie = async () => (await browser.context.cookies()).find((c) => c.name === 'rx_uid');
    const daysLeft = async () => (((await uidCookie())?.expires ?? 0) * 1000 - Date.now()) / 86_400_000;
    await open(page, shopPage());
    await expect.poll(daysLeft, POLL).toBeGreaterThan(399);
    const id = (await uidCookie())?.value as string;
    // The shopper comes back a year later: browsers count a cookie's life from its last write
    // (Chromium caps it at 400 days, Safari a script's cookie at 7), and this one has a day left.
    await browser.context.addCookies([
      {
        name: 'rx_uid',
        value: id,
        url: api.shopUrl,
        expires: Math.floor(Date.now() / 1000) + 86_400,
        sameSite: 'Lax',
      },
    ]);
    expect(await daysLeft()).toBeLessThan(2);
    await page.reload();
    await page.waitForFunction("typeof window.rx.track === 'function'");
    // The page's first event reads the id (the page view, as the page starts): by then it is written.
    await sentinelSlotFilled(page);
    expect(await daysLeft()).toBeGreaterThanOrEqual(399);
    expect((await uidCookie())?.value).toBe(id);
  });

  it('replays the documented stub snippet and starts once when the tag is pasted twice', async () => {
    const { page, errors } = await browser.newPage();
    const snippet =
      "['track','page','identify','consent'].forEach(function(m){rx[m]=rx[m]||function(){rx.push([m].concat([].slice.call(arguments)))}});" +
      "rx.track('Early Call', { n: 1 }); window.stubQueue = rx;";
    const twice = shopPage({ stub: snippet }).replace(
      '</head>',
      `<script src="${api.apiUrl}/rx.js" async data-site="demo"></script></head>`,
    );
    await open(page, twice);
    // A reference to the stub array taken before load still reaches the real API.
    await page.evaluate("window.stubQueue.push(['track', 'Late Push', { n: 2 }]); rx.flush()");
    await expect.poll(() => distinct('Late Push'), POLL).toBe(1);
    expect(api.events.find(named('Early Call'))?.properties).toEqual({ n: 1 });
    expect(distinct('page')).toBe(1);
    expect(
      api.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/recommendations')),
    ).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("leaves a shop's own window.rx alone: the plugin runs as window._rx, and a second tag starts no second one", async () => {
    const { page, errors } = await browser.newPage();
    // A shop whose own code uses the name (no stub snippet), with the tag pasted twice.
    const html = shopPage()
      .replace(
        '<script>window.rx=window.rx||[];</script>',
        "<script>window.rx = { shopOwn: 'yes' };</script>",
      )
      .replace('</head>', `<script src="${api.apiUrl}/rx.js" async data-site="demo"></script></head>`);
    api.setPage(html);
    await page.goto(`${api.shopUrl}/products/85123A`);
    await page.waitForFunction("typeof window._rx?.track === 'function'");
    await page.locator('#slot .rx-block').waitFor();
    expect(await page.evaluate('JSON.stringify(window.rx)')).toBe('{"shopOwn":"yes"}');
    await page.evaluate("_rx.track('Via Underscore'); _rx.flush()");
    await expect.poll(() => distinct('Via Underscore'), POLL).toBe(1);
    expect(distinct('page')).toBe(1);
    expect(
      api.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/recommendations')),
    ).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('takes window.rx on a page where only an element is named rx (browsers expose it there)', async () => {
    const { page, errors } = await browser.newPage();
    // A pharmacy's prescription section, and no stub snippet: `window.rx` is the element until the plugin starts.
    const html = shopPage()
      .replace('<script>window.rx=window.rx||[];</script>', '')
      .replace('<main ', '<section id="rx">Prescriptions</section><main ');
    await open(page, html);
    expect(await page.evaluate('window._rx')).toBeUndefined();
    await page.evaluate("rx.track('Via Rx'); rx.flush()");
    await expect.poll(() => distinct('Via Rx'), POLL).toBe(1);
    expect(await page.evaluate("document.getElementById('rx').textContent")).toBe('Prescriptions');
    expect(errors).toEqual([]);
  });

  it('sends events in batches of ten', async () => {
    const { page } = await browser.newPage();
    // The page's clock runs as usual, but can be moved on: the last partial batch waits for the
    // outbox's 5 s timer, which the test moves the clock past instead of waiting it out.
    await page.clock.install();
    await open(page, shopPage());
    await page.evaluate("for (let i = 0; i < 20; i++) rx.track('Batch Test', { n: i })");
    await page.clock.fastForward(5_000);
    await expect.poll(() => api.events.filter(named('Batch Test')).length, POLL).toBe(20);
    expect(api.batches.every((batch) => batch.length <= 10)).toBe(true);
    expect(api.batches.filter((batch) => batch.some(named('Batch Test'))).length).toBeLessThanOrEqual(3);
  });

  it('drops an event it cannot send, splits big batches under the keepalive limit, and sends the rest', async () => {
    const { page, errors } = await browser.newPage();
    // As in 'sends events in batches of ten': the batch timer's 5 s are moved past, not waited out.
    await page.clock.install();
    await open(page, shopPage());
    // A shop passing its own objects: one refers to itself, one is over the 32 KB event limit, and
    // three of ~25 KB would make a 75 KB batch, over the 64 KiB a keepalive request may carry.
    await page.evaluate(`const order = { id: 'o1' }; order.self = order;
      rx.track('Circular Order', { order });
      rx.track('Too Big', { blob: 'x'.repeat(40000) });
      for (let i = 0; i < 3; i++) rx.track('Big But Fine', { n: i, blob: 'y'.repeat(25000) });
      rx.track('After Them')`);
    await page.clock.fastForward(5_000);
    await expect.poll(() => distinct('Big But Fine'), POLL).toBe(3);
    await expect.poll(() => distinct('After Them'), POLL).toBe(1);
    expect(distinct('Circular Order') + distinct('Too Big')).toBe(0);
    for (const batch of api.batches) {
      expect(new TextEncoder().encode(JSON.stringify({ batch })).length).toBeLessThanOrEqual(60_000);
    }
    // The stored queue is still written (a cycle in it would make every save throw) and drains.
    await expect
      .poll(async () => JSON.parse((await page.evaluate(STORED_QUEUE)) as string).length, POLL)
      .toBe(0);
    await page.evaluate("rx.track('Later'); rx.flush()");
    await expect.poll(() => distinct('Later'), POLL).toBe(1);
    // Never sent at all (every earlier request was answered before the queue drained): an event over
    // the limit sent to the intake is refused, and would take the batch around it along.
    expect(api.requests.some((r) => r.body?.includes('"Too Big"'))).toBe(false);
    expect(errors).toEqual([]);
  });

  it('with consent required sends, stores and identifies nothing until rx.consent(true)', async () => {
    const { page } = await browser.newPage();
    await open(page, shopPage({ tag: 'data-consent="required"' }));
    await page.locator('#slot .rx-block').waitFor();
    await page.evaluate("rx.track('Before Consent'); rx.flush()");
    await page.click('#add');
    // The click path flushes at once: a (wrong) send would reach the API before the sentinel's request.
    await sentinelSlotFilled(page);
    expect(eventsPosted()).toBe(0);
    expect(await page.evaluate('({ cookie: document.cookie, storage: localStorage.length })')).toEqual({
      cookie: '',
      storage: 0,
    });
    const recommendation = api.requests.find(
      (r) => r.method === 'GET' && r.path.startsWith('/v1/recommendations'),
    );
    expect(recommendation?.headers['x-rx-uid']).toBeUndefined();
    // Told so, the API answers from the page alone and makes no id for this shopper.
    expect(recommendation?.path).toContain('tracking=off');
    const prices = api.requests.find((r) => r.method === 'GET' && r.path.startsWith('/v1/prices'));
    expect(prices?.path).toContain('tracking=off');

    await page.evaluate('rx.consent(true)');
    await expect.poll(() => api.events.filter(named('Before Consent')).length, POLL).toBe(1);
    expect(api.events.filter(named('Product Added'))).toHaveLength(1);
    expect(await page.evaluate('document.cookie')).toMatch(/rx_uid=[0-9a-f-]{36}/);
  });

  it('with consent required does not touch localStorage before rx.consent(true), not even to list its keys', async () => {
    const { page, errors } = await browser.newPage();
    // Counts every reach for window.localStorage (listing keys or removing one is access too).
    await page.addInitScript(`{
      const own = Object.getOwnPropertyDescriptor(window, 'localStorage') ?? Object.getOwnPropertyDescriptor(Window.prototype, 'localStorage');
      window.storageTouched = 0;
      Object.defineProperty(window, 'localStorage', { configurable: true, get() { window.storageTouched++; return own.get.call(window); } });
    }`);
    await open(page, shopPage({ tag: 'data-consent="required"' }));
    await page.locator('#slot .rx-block').waitFor();
    await page.evaluate("rx.track('Before Consent'); rx.flush()");
    await page.click('#add');
    expect(await page.evaluate('window.storageTouched')).toBe(0);
    await page.evaluate('rx.consent(true)');
    await expect.poll(() => api.events.filter(named('Before Consent')).length, POLL).toBe(1);
    // The events waiting in memory were stored (and sent) once consent allowed it.
    expect(await page.evaluate('window.storageTouched')).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('keeps a user id given before consent once consent is granted, for the next pages', async () => {
    const { page } = await browser.newPage();
    await open(page, shopPage({ tag: 'data-consent="required"' }));
    await page.evaluate(
      `rx.identify(${JSON.stringify(SHOP_USER)}, undefined, { signature: '${SHOP_USER_SIGNATURE}' }); rx.consent(true)`,
    );
    await page.reload();
    await page.waitForFunction("typeof window.rx.track === 'function'");
    await page.evaluate("rx.track('Next Page'); rx.flush()");
    await expect.poll(() => api.events.filter(named('Next Page')).length, POLL).toBe(1);
    expect(api.events.find(named('Next Page'))?.userId).toBe(SHOP_USER);
    const last = api.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/')).at(-1);
    expect(last?.headers['x-rx-user-id']).toBe(encodeURIComponent(SHOP_USER));
    expect(last?.headers['x-rx-user-sig']).toBe(SHOP_USER_SIGNATURE);
  });

  it('forgets the user id and its signature on rx.identify(null), keeping consent and the anonymous id', async () => {
    const { page } = await browser.newPage();
    await open(page, shopPage({ tag: 'data-consent="required"' }));
    await page.evaluate(
      `rx.consent(true); rx.identify(${JSON.stringify(SHOP_USER)}, undefined, { signature: '${SHOP_USER_SIGNATURE}' })`,
    );
    const uid = await page.evaluate('document.cookie.match(/rx_uid=([^;]+)/)[1]');
    await page.evaluate("rx.identify(null); rx.track('Logged Out'); rx.flush()");
    expect(
      await page.evaluate("[localStorage.getItem('rx_user'), localStorage.getItem('rx_user_sig')]"),
    ).toEqual([null, null]);
    await page.reload();
    await page.waitForFunction("typeof window.rx.track === 'function'");
    await page.evaluate("rx.track('Next Page'); rx.flush()");
    await expect.poll(() => api.events.filter(named('Next Page')).length, POLL).toBe(1);
    for (const name of ['Logged Out', 'Next Page']) {
      const event = api.events.find(named(name));
      expect(event?.userId, name).toBeUndefined();
      expect(event?.anonymousId, name).toBe(uid);
    }
    const last = api.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/')).at(-1);
    expect(last?.headers['x-rx-user-id']).toBeUndefined();
    expect(last?.headers['x-rx-user-sig']).toBeUndefined();
  });

  it('asks again as an anonymous shopper when the worker refuses the stored user signature (403), and on the next pages at once', async () => {
    const { page, errors } = await browser.newPage();
    // The worker's USER_ID_SECRET was rotated (or turned on) since the shop's server signed this id.
    const goodSignature = 'cd'.repeat(32);
    api.requireUserSignature(goodSignature);
    const identify = JSON.stringify(['identify', SHOP_USER, undefined, { signature: SHOP_USER_SIGNATURE }]);
    await open(page, shopPage({ stub: `rx.push(${identify});` }));
    // Before the fix every call failed (403) until logout: no slot, no price.
    await page.waitForFunction(
      "['filled', 'failed'].includes(document.querySelector('#slot').dataset.rxState)",
    );
    expect(await page.locator('#slot').getAttribute('data-rx-state')).toBe('filled');
    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state'), POLL).toBe('priced');
    const apiCalls = () => api.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/'));
    const paths = (calls: typeof api.requests) => calls.map((r) => r.path.split('?')[0]).sort();
    const withUser = () => apiCalls().filter((r) => r.headers['x-rx-user-id']);
    // Each refused once with the user id, then asked again without it or the signature.
    expect(paths(withUser())).toEqual(['/v1/prices', '/v1/recommendations']);
    expect(
      paths(apiCalls().filter((r) => !r.headers['x-rx-user-id'] && !r.headers['x-rx-user-sig'])),
    ).toEqual(['/v1/prices', '/v1/recommendations']);
    // The bad signature is replaced by the refusal mark ('-'); the user id stays, and events carry it.
    expect(
      await page.evaluate("[localStorage.getItem('rx_user'), localStorage.getItem('rx_user_sig')]"),
    ).toEqual([SHOP_USER, '-']);
    // The page's later calls go without the user id at once.
    await page.evaluate(addHomeSlot("document.querySelector('main').after(slot)", 'rx.scan()'));
    await page.locator('#slot2 .rx-block').waitFor();
    expect(withUser()).toHaveLength(2);
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('Product Viewed'), POLL).toBe(1);
    expect(api.events.every((e) => e.userId === SHOP_USER)).toBe(true);

    // The next page (the shop identifies at login only): each call once, without the user id. Before
    // the fix every page asked each time twice, refused (403) with the user id and then without it.
    api.requests.length = 0;
    api.setPage(shopPage());
    await page.reload();
    await page.locator('#slot .rx-block').waitFor();
    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state'), POLL).toBe('priced');
    expect(paths(apiCalls())).toEqual(['/v1/prices', '/v1/recommendations']);
    expect(withUser()).toEqual([]);
    expect(apiCalls().filter((r) => r.headers['x-rx-user-sig'])).toEqual([]);
    await page.evaluate("rx.track('Next Page'); rx.flush()");
    await expect.poll(() => api.events.filter(named('Next Page')).length, POLL).toBe(1);
    expect(api.events.find(named('Next Page'))?.userId).toBe(SHOP_USER);

    // A new identify (the shop's server signing with the new secret) sends the user id again.
    await page.evaluate(
      `rx.identify(${JSON.stringify(SHOP_USER)}, undefined, { signature: '${goodSignature}' });` +
        addHomeSlot("document.querySelector('main').after(slot)", 'rx.scan()'),
    );
    await page.locator('#slot2 .rx-block').waitFor();
    expect(withUser().map((r) => [r.path.split('?')[0], r.headers['x-rx-user-sig']])).toEqual([
      ['/v1/recommendations', goodSignature],
    ]);
    expect(errors).toEqual([]);
  });

  it('remembers consent in rx_consent for the next pages, and forgets it with rx.consent(false)', async () => {
    const { page } = await browser.newPage();
    await open(page, shopPage({ tag: 'data-consent="required"' }));
    await page.evaluate('rx.consent(true)');
    expect(await page.evaluate('document.cookie')).toMatch(/(^|; )rx_consent=1(;|$)/);

    // The next page: nobody calls rx.consent(true) again, and it tracks.
    await page.reload();
    await page.evaluate("rx.track('Remembered Consent'); rx.flush()");
    await expect.poll(() => api.events.filter(named('Remembered Consent')).length, POLL).toBe(1);

    await page.evaluate('rx.consent(false)');
    expect(await page.evaluate('document.cookie')).toBe('');
    await page.reload();
    await page.evaluate("rx.track('After Withdrawal'); rx.flush()");
    await sentinelSlotFilled(page);
    expect(api.events.filter(named('After Withdrawal'))).toHaveLength(0);
  });

  it('stops tracking in every open tab when consent is withdrawn in one of them', async () => {
    const { page: first, errors } = await browser.newPage();
    await open(first, shopPage({ tag: 'data-consent="required"' }));
    await first.evaluate('rx.consent(true)');
    // A second tab opens on the remembered consent, and has an event waiting while the intake fails.
    const { page: second } = await browser.newPage();
    await open(second, shopPage({ tag: 'data-consent="required"' }));
    api.failNextEventPosts(1_000);
    await second.evaluate("rx.track('Waiting In Second Tab'); rx.flush()");
    await expect.poll(() => second.evaluate(STORED_QUEUE), POLL).toContain('Waiting In Second Tab');

    // The shopper withdraws consent in the first tab; the intake is back.
    await first.evaluate('rx.consent(false)');
    api.failNextEventPosts(0);
    // The second tab records, flushes and clicks on: none of it is sent, stored or given an id.
    await second.evaluate("rx.track('After Withdrawal Elsewhere'); rx.flush()");
    await second.click('#add');
    // Leaving sends everything waiting, back-off or not: still nothing. The sentinel's request goes
    // after any of these sends would have.
    await second.evaluate("dispatchEvent(new Event('pagehide'))");
    await sentinelSlotFilled(second);
    expect(distinct('After Withdrawal Elsewhere')).toBe(0);
    expect(distinct('Waiting In Second Tab')).toBe(0);
    expect(distinct('Product Added')).toBe(0);
    expect(
      await second.evaluate(
        '({ cookie: document.cookie, keys: Object.keys(localStorage).filter((k) => /^rx_/.test(k)) })',
      ),
    ).toEqual({ cookie: '', keys: [] });
    // Its next recommendation requests ask for the page-only answer, with no shopper id.
    const lastRecommendation = api.requests.filter((r) => r.path.startsWith('/v1/recommendations')).at(-1);
    expect(lastRecommendation?.path).toContain('tracking=off');
    expect(lastRecommendation?.headers['x-rx-uid']).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('keeps unsent events across a reload and re-sends them under the same messageId', async () => {
    const { page } = await browser.newPage();
    api.failNextEventPosts(1_000);
    await open(page, shopPage());
    await page.click('#add');
    await expect.poll(() => page.evaluate(STORED_QUEUE), POLL).toContain('Product Added');
    const queued = JSON.parse(await page.evaluate(STORED_QUEUE)) as RxEventInput[];
    const addedId = queued.find(named('Product Added'))?.messageId;
    expect(addedId).toBeTruthy();

    api.failNextEventPosts(0);
    await page.reload();
    await expect
      .poll(() => api.events.filter((e) => e.messageId === addedId).length, POLL)
      .toBeGreaterThan(0);
    // Delivered events leave the retry queue (the reloaded page's own events may still wait there).
    await expect.poll(() => page.evaluate(STORED_QUEUE), POLL).not.toContain(addedId);
    // One event, one messageId, however many times the network made us send it.
    expect(distinct('Product Added')).toBe(1);
  });

  it('injects the block styles only: a slot reserves no height it would keep blank when the API fails (503) or has nothing', async () => {
    const { page, errors } = await browser.newPage();
    // The plugin's own default stylesheet (the page has none). Injected after first paint, the slot
    // rules (17rem reserved) prevented no shift: they grew an empty slot, and kept it 272 px blank when
    // the API failed, where docs/plugin.md promises the page works as before.
    const html = shopPage()
      .replace(/<style data-rx-styles>.*?<\/style>/, '')
      .replace('<p class="fallback">Our bestsellers</p>', '');
    const slotHeight = "document.querySelector('#slot').getBoundingClientRect().height";
    api.failRecommendations(503);
    await open(page, html);
    await page.waitForFunction("document.querySelector('#slot').dataset.rxState === 'failed'");
    expect(await page.evaluate(slotHeight)).toBe(0);
    expect(await page.evaluate("document.querySelector('style[data-rx-styles]').textContent")).not.toContain(
      'data-rx-slot',
    );

    // An answer with nothing to show (no bundle published yet): 0 px too.
    api.failRecommendations(undefined);
    api.recommendNothing(true);
    await page.reload();
    await page.waitForFunction("document.querySelector('#slot').dataset.rxState === 'empty'");
    expect(await page.evaluate(slotHeight)).toBe(0);
    expect(await page.locator('#slot .rx-block').count()).toBe(0);

    // The same page with items: filled as usual, the block styled by the injected rules.
    api.recommendNothing(false);
    await page.reload();
    await page.locator('#slot .rx-block').waitFor();
    expect(await page.evaluate("document.querySelector('#slot').dataset.rxState")).toBe('filled');
    expect(await page.evaluate("getComputedStyle(document.querySelector('#slot .rx-list')).display")).toBe(
      'grid',
    );
    expect(errors).toEqual([]);
  });

  it("asks a slot without data-rx-limit for proxy mode's count (4), not the API's default (8)", async () => {
    const { page, errors } = await browser.newPage();
    // In proxy mode the plugin fills the slots the worker did not get to in time: before the fix such a
    // slot showed 8 items or 4 depending on which of the two filled it.
    await open(page, shopPage().replace(' data-rx-limit="2"', ''));
    await page.locator('#slot .rx-block').waitFor();
    expect(await page.locator('#slot .rx-item').count()).toBe(4);
    const asked = api.requests.find((r) => r.path.startsWith('/v1/recommendations'))?.path ?? '';
    expect(new URLSearchParams(asked.split('?')[1]).get('limit')).toBe('4');
    // The slot's own limit still rules.
    await open(page, shopPage().replace('data-rx-limit="2"', 'data-rx-limit="6"'));
    await page.locator('#slot .rx-block').waitFor();
    expect(await page.locator('#slot .rx-item').count()).toBe(6);
    expect(errors).toEqual([]);
  });

  it('reads data-rx-limit and data-rx-product-ids as proxy mode does: above 24 is 24, junk is 4, the first 50 ids', async () => {
    const { page, errors } = await browser.newPage();
    /** The query of the recommendations request of a placement, among the requests from `since` on. */
    const asked = (placement: string, since = 0) =>
      api.requests
        .slice(since)
        .filter((r) => r.path.startsWith('/v1/recommendations'))
        .map((r) => new URLSearchParams(r.path.split('?')[1]))
        .find((query) => query.get('placement') === placement);
    // A cart of 60 lines, with the spaces and the empty entry a theme's loop can leave.
    const cart = Array.from({ length: 60 }, (_, i) => `C${i + 1}`);
    const cartSlot = `<div id="cart" data-rx-slot="recommendations" data-rx-placement="cart" data-rx-product-ids=" ${cart.join(', ')}, "></div>`;
    /** Each slot's `data-rx-state` once none is loading (asked and answered, or failed). */
    const settled = async (...ids: string[]) => {
      const states = `[${ids.map((id) => `document.getElementById('${id}').dataset.rxState`)}]`;
      await page.waitForFunction(`${states}.every((state) => state && state !== 'loading')`);
      return page.evaluate(states);
    };
    // Before the fix the plugin sent them as written: `limit=30` asked for more than proxy mode shows,
    // and `limit=abc` and 60 ids got the API's 400, leaving those slots empty (`failed`).
    await open(
      page,
      shopPage().replace('data-rx-limit="2"', 'data-rx-limit="30"').replace('</main>', `</main>${cartSlot}`),
    );
    expect(await settled('slot', 'cart')).toEqual(['filled', 'filled']);
    expect(asked('product')?.get('limit')).toBe('24');
    // The fixture has 12 items: all of them, at most 24.
    expect(await page.locator('#slot .rx-item').count()).toBe(12);
    expect(asked('cart')?.get('product_ids')).toBe(cart.slice(0, 50).join(','));
    expect(asked('cart')?.get('limit')).toBe('4');
    const since = api.requests.length;
    await open(page, shopPage().replace('data-rx-limit="2"', 'data-rx-limit="abc"'));
    expect(await settled('slot')).toEqual(['filled']);
    expect(asked('product', since)?.get('limit')).toBe('4');
    expect(await page.locator('#slot .rx-item').count()).toBe(4);
    expect(errors).toEqual([]);
  });

  it("heads a block without data-rx-heading with the placement's heading from the API (proxy mode's), and keeps the slot's own", async () => {
    const { page, errors } = await browser.newPage();
    const heading = (selector: string) => page.locator(`${selector} .rx-heading`).allTextContents();
    await open(page, shopPage());
    await page.locator('#slot .rx-block').waitFor();
    // Before the fix: "Recommended for you" on a product page, where proxy mode wrote "You may also like".
    expect(await heading('#slot')).toEqual([PLACEMENT_HEADINGS.product]);
    expect(await page.locator('#slot .rx-block').getAttribute('aria-label')).toBe(PLACEMENT_HEADINGS.product);
    await open(
      page,
      shopPage().replace('data-rx-limit="2"', 'data-rx-limit="2" data-rx-heading="Pairs well"'),
    );
    await page.locator('#slot .rx-block').waitFor();
    expect(await heading('#slot')).toEqual(['Pairs well']);
    // An empty data-rx-heading: no heading (the shop has its own next to the slot).
    await open(page, shopPage().replace('data-rx-limit="2"', 'data-rx-limit="2" data-rx-heading=""'));
    await page.locator('#slot .rx-block').waitFor();
    expect(await heading('#slot')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("sends a prerendered page's page view and product view only once the shopper opens it", async () => {
    const { page, errors } = await browser.newPage();
    // Speculation rules let the browser prerender a page the shopper may never open (Playwright's
    // Chromium does not prerender: docs/plugin.md). Here the page is told it is prerendering, as the
    // browser tells it, until `activate()` fires `prerenderingchange`, as the browser does on activation.
    await page.addInitScript(`{
      let prerendering = true;
      Object.defineProperty(Document.prototype, 'prerendering', { configurable: true, get: () => prerendering });
      window.activate = () => {
        prerendering = false;
        document.dispatchEvent(new Event('prerenderingchange'));
      };
    }`);
    await open(page, shopPage());
    await page.evaluate('rx.flush()');
    // Anything the plugin had started would have been sent by now (the flush sends at once; a
    // recommendations request goes as the slot is seen).
    await page.waitForTimeout(1_000);
    expect(api.events).toEqual([]);
    expect(api.requests.filter((r) => r.path.startsWith('/v1/'))).toEqual([]);
    expect(await page.locator('#slot').getAttribute('data-rx-state')).toBeNull();

    await page.evaluate('activate(); rx.flush()');
    await page.locator('#slot .rx-block').waitFor();
    await expect.poll(() => distinct('Product Viewed'), POLL).toBe(1);
    expect(distinct('page')).toBe(1);
    expect(errors).toEqual([]);
  });

  it('sends nothing for a prerendered page whose app changes its URL, and one page view at that URL once it is opened', async () => {
    const { page, errors } = await browser.newPage();
    // `document.prerendering` stood in for, as in the test before.
    await page.addInitScript(`{
      let prerendering = true;
      Object.defineProperty(Document.prototype, 'prerendering', { configurable: true, get: () => prerendering });
      window.activate = () => {
        prerendering = false;
        document.dispatchEvent(new Event('prerenderingchange'));
      };
    }`);
    await open(page, shopPage());
    // The app's router settles the URL while the page is prerendered (and may never be opened).
    await page.evaluate("history.pushState({}, '', '/products/85123A/white')");
    // Past the tick a navigation's scan waits for; then anything recorded goes at once.
    await page.evaluate('new Promise((resolve) => setTimeout(resolve, 50)).then(() => rx.flush())');
    await page.waitForTimeout(1_000);
    expect(api.events).toEqual([]);
    expect(api.requests.filter((r) => r.path.startsWith('/v1/'))).toEqual([]);
    expect(await page.locator('#slot').getAttribute('data-rx-state')).toBeNull();

    // Opened: one page view, at the URL the page has now, and one product view.
    await page.evaluate('activate(); rx.flush()');
    await page.locator('#slot .rx-block').waitFor();
    await expect.poll(() => distinct('Product Viewed'), POLL).toBe(1);
    expect(api.events.filter((e) => e.type === 'page').map((e) => e.properties?.path)).toEqual([
      '/products/85123A/white',
    ]);
    expect(errors).toEqual([]);
  });

  it('leaves the page working when the API is blocked', async () => {
    const { page, errors } = await browser.newPage();
    const blocked: string[] = [];
    await page.route(`${api.apiUrl}/v1/**`, async (route) => {
      await route.abort('blockedbyclient');
      blocked.push(`${route.request().method()} ${new URL(route.request().url()).pathname}`);
    });
    await open(page, shopPage({ tag: 'data-debug' }));
    await page.waitForFunction("document.querySelector('#slot').dataset.rxState === 'failed'");
    expect(await page.locator('#slot .fallback').textContent()).toBe('Our bestsellers');
    expect(await page.locator('#price').textContent()).toBe('£2.55');
    await page.click('#add');
    const state = await page.evaluate("rx.track('Still Fine'); rx.page(); rx.flush(); window.hostScriptRan");
    expect(state).toBe(true);
    // The events were sent and refused; a request of the page's own made after that comes back only
    // after the refusal reached the plugin, so an error it let escape would have been reported by then.
    await expect.poll(() => blocked.includes('POST /v1/events'), POLL).toBe(true);
    expect(await page.evaluate('fetch(location.href).then((response) => response.status)')).toBe(200);
    expect(errors).toEqual([]);
  });

  it('prices every valid id of a long page within the API limits, and leaves an id the API refuses alone', async () => {
    const { page, errors } = await browser.newPage();
    // 60 prices with long ids would be a 6 KB query (over MAX_QUERY_LENGTH, 4 KB) in batches of 50,
    // and one refused id used to fail its whole batch.
    const ids = Array.from({ length: 60 }, (_, i) => `sku-${String(i).padStart(3, '0')}-${'x'.repeat(96)}`);
    const prices = ids.map((id) => `<span data-rx-price data-rx-product-id="${id}">£2.55</span>`).join('');
    // A comma separates `product_ids`: no id can hold one.
    const refused = '<span id="gid" data-rx-price data-rx-product-id="gid://shop/Variant/1,2">£9.99</span>';
    await open(page, shopPage().replace('</main>', `</main>${prices}${refused}`));
    await page.waitForFunction(
      "[...document.querySelectorAll('[data-rx-price]')].every((el) => ['priced', 'failed'].includes(el.dataset.rxState))",
    );
    const states = (await page.evaluate(
      "[...document.querySelectorAll('[data-rx-price]')].map((el) => el.dataset.rxState)",
    )) as string[];
    expect(states.filter((state) => state === 'priced')).toHaveLength(61);
    expect(await page.locator('#gid').getAttribute('data-rx-state')).toBe('failed');
    expect(await page.locator('#gid').textContent()).toBe('£9.99');
    const priceRequests = api.requests.filter((r) => r.path.startsWith('/v1/prices'));
    expect(priceRequests.length).toBeGreaterThan(1);
    for (const request of priceRequests) expect(request.path.length).toBeLessThan(MAX_QUERY_LENGTH);
    expect(errors).toEqual([]);
  });

  it('gives up on an API that never answers: the slot keeps the shop content, marked failed', async () => {
    const { page, errors } = await browser.newPage();
    // A request that hangs (no answer, no error) until the plugin's own timeout.
    await page.route(`${api.apiUrl}/v1/recommendations**`, () => undefined);
    await open(page, shopPage());
    await page.waitForFunction("document.querySelector('#slot').dataset.rxState === 'failed'", undefined, {
      timeout: 10_000,
    });
    expect(await page.locator('#slot .fallback').textContent()).toBe('Our bestsellers');
    expect(errors).toEqual([]);
  });

  it('honours Global Privacy Control when configured', async () => {
    const { page } = await browser.newPage();
    await page.addInitScript(
      "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })",
    );
    await open(page, shopPage({ tag: 'data-gpc' }));
    await page.locator('#slot .rx-block').waitFor();
    await page.evaluate("rx.consent(true); rx.track('Under GPC'); rx.flush()");
    await page.click('#add');
    await sentinelSlotFilled(page);
    expect(eventsPosted()).toBe(0);
    expect(await page.evaluate('document.cookie')).toBe('');
  });

  it('fills slots lazily and tracks single-page navigations', async () => {
    const { page } = await browser.newPage();
    await open(page, shopPage({ slotBelowFold: true }));
    // Far below the fold: not requested yet. The sentinel slot at the top is observed after it, so
    // once the sentinel is filled the observer has already judged the product slot (out of reach).
    await sentinelSlotFilled(page);
    expect(
      api.requests
        .filter((r) => r.method === 'GET' && r.path.startsWith('/v1/recommendations'))
        .map((r) => new URLSearchParams(r.path.split('?')[1]).get('placement')),
    ).toEqual(['home']);
    await page.locator('#slot').scrollIntoViewIfNeeded();
    await page.locator('#slot .rx-block').waitFor();

    // What a single-page app's router does: render a view with a new slot, then push the URL.
    await page.evaluate(
      addHomeSlot("document.querySelector('#slot').before(slot)", "history.pushState({}, '', '/next-view')"),
    );
    await page.locator('#slot2 .rx-block').waitFor();
    await page.evaluate('rx.flush()');
    await expect
      .poll(() => api.events.filter((e) => e.type === 'page').map((e) => e.properties?.path), POLL)
      .toEqual(['/products/85123A', '/next-view']);
  });

  it('fills a slot and prices an element again when a single-page app reuses them for the next product', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage());
    await page.locator('#slot .rx-block').waitFor();
    await expect
      .poll(() => page.locator('#price').getAttribute('data-rx-price-token'), POLL)
      .toBe('token-85123A');
    const block = () => page.locator('#slot .rx-block').getAttribute('data-rx-recommendation-id');
    const firstBlock = await block();
    // A React router's next product: the same elements, with the new id and the shop's price for it.
    await page.evaluate(`for (const el of document.querySelectorAll('main, #price, #add, #slot')) el.dataset.rxProductId = '22423';
      document.querySelector('#price').textContent = '£2.55';
      history.pushState({}, '', '/products/22423')`);
    // Before the fix both kept the first product's: its recommendations, its price and price token.
    await expect
      .poll(() => page.locator('#price').getAttribute('data-rx-price-token'), POLL)
      .toBe('token-22423');
    expect(await page.locator('#price').textContent()).toBe('£2.10');
    expect(await page.locator('#price').getAttribute('data-rx-state')).toBe('priced');
    await expect.poll(block, POLL).not.toBe(firstBlock);
    const asked = () =>
      api.requests
        .filter((r) => r.method === 'GET' && r.path.startsWith('/v1/recommendations'))
        .map((r) => new URLSearchParams(r.path.split('?')[1]).get('product_id'));
    expect(asked()).toEqual(['85123A', '22423']);
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('Recommendation Shown'), POLL).toBe(2);
    expect(errors).toEqual([]);
  });

  it('reports no impression for a slot the app removed while its recommendations were on their way', async () => {
    const { page, errors } = await browser.newPage();
    // The product slot's answer is held until the app has navigated away from its view.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/v1/recommendations?*', async (route) => {
      if (new URL(route.request().url()).searchParams.get('placement') === 'product') await released;
      await route.continue();
    });
    const answered = page.waitForResponse((r) => r.url().includes('placement=product'));
    await open(page, shopPage());
    await page.waitForFunction("document.querySelector('#slot').dataset.rxState === 'loading'");
    await page.evaluate(`document.querySelector('#slot').remove();
      history.pushState({}, '', '/category/candles')`);
    release();
    await answered;
    // Answered after the answer above, so its impression is recorded after that one would have been.
    await sentinelSlotFilled(page);
    await page.evaluate('rx.flush()');
    const shown = () => api.events.filter(named('Recommendation Shown')).map((e) => e.properties?.placement);
    await expect.poll(shown, POLL).toContain('home');
    // Before the fix the removed slot's block, which nobody saw, was reported shown.
    expect(shown()).toEqual(['home']);
    expect(errors).toEqual([]);
  });

  it('views and fills a product view rendered after the navigation once the app calls rx.scan()', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage());
    await page.locator('#slot .rx-block').waitFor();
    // The router empties the view and pushes the URL; the navigation's own scan finds nothing yet.
    await page.evaluate(`document.querySelector('main').remove();
      document.querySelector('#slot').remove();
      history.pushState({}, '', '/products/84879');
      new Promise((resolve) => setTimeout(resolve, 50))`);
    // The product's data arrives and the app renders it, then asks for a scan (docs/plugin.md).
    await page.evaluate(`document.body.insertAdjacentHTML('afterbegin',
        '<main data-rx-view data-rx-product-id="84879"><h1>Lantern</h1></main>' +
        '<div id="slot3" data-rx-slot data-rx-placement="product" data-rx-product-id="84879"></div>');
      rx.scan();
      rx.flush()`);
    await page.locator('#slot3 .rx-block').waitFor();
    // Before the fix rx.scan() filled the slot but never sent the product view.
    const viewed = () => api.events.filter(named('Product Viewed')).map((e) => e.properties?.product_id);
    await expect.poll(viewed, POLL).toEqual(['85123A', '84879']);
    expect(errors).toEqual([]);
  });

  it('sends no second Product Viewed of the old view a router keeps on screen while it pushes the next URL', async () => {
    const { page, errors } = await browser.newPage();
    const viewed = () =>
      api.events
        .filter(named('Product Viewed'))
        .map((e) => [e.properties?.product_id, (e.context?.page as { path?: string } | undefined)?.path]);
    const transition = async () => {
      // The first page's own scan (the slot claimed) has run: its navigation tracking is on.
      await page.waitForFunction("document.querySelector('#slot').dataset.rxState !== undefined");
      // A React transition: the URL first, with the old view still on screen past the navigation's scan
      // (its timer is due before this 50 ms one), then the new view, and the app's rx.scan().
      await page.evaluate(`history.pushState({}, '', '/products/22423');
        new Promise((resolve) => setTimeout(resolve, 50))`);
      await page.evaluate(`document.querySelector('main').outerHTML =
          '<main data-rx-view data-rx-product-id="22423"><h1>Lantern</h1></main>';
        rx.scan();
        rx.flush()`);
    };
    await open(page, shopPage());
    await transition();
    // Before the fix: ['85123A', '/products/22423'] came between them, the old product's view again.
    await expect.poll(viewed, POLL).toContainEqual(['22423', '/products/22423']);
    expect(viewed()).toEqual([
      ['85123A', '/products/85123A'],
      ['22423', '/products/22423'],
    ]);

    // Proxy mode recorded the first page's view (data-rx-page-view="sent"): the kept view sends none either.
    await open(page, shopPage({ tag: 'data-rx-page-view="sent"' }));
    await transition();
    await expect.poll(() => viewed().filter(([id]) => id === '22423').length, POLL).toBe(2);
    expect(viewed()).toEqual([
      ['85123A', '/products/85123A'],
      ['22423', '/products/22423'],
      ['22423', '/products/22423'],
    ]);
    expect(errors).toEqual([]);
  });

  it('reports the price of an add-to-cart whose product id has spaces around it, as the price element read it', async () => {
    const { page, errors } = await browser.newPage();
    await open(
      page,
      shopPage().replace(
        'data-rx-add-to-cart data-rx-product-id="85123A"',
        'data-rx-add-to-cart data-rx-product-id=" 85123A "',
      ),
    );
    await expect.poll(() => page.locator('#price').getAttribute('data-rx-state'), POLL).toBe('priced');
    await page.click('#add');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    // Before the fix the lookup used " 85123A ", while the quote the shopper was shown is under
    // "85123A" (the API's trimmed id): the event went without price and currency.
    expect(api.events.find(named('Product Added'))?.properties).toEqual({
      product_id: '85123A',
      quantity: 2,
      price: 2.1,
      currency: 'GBP',
    });
    expect(errors).toEqual([]);
  });

  it("reports a slot without data-rx-placement shown under 'home', the placement it asked for and its clicks report", async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage().replace(' data-rx-placement="product"', ''));
    await page.locator('#slot .rx-block').waitFor();
    const asked = api.requests.find((r) => r.path.startsWith('/v1/recommendations'))?.path ?? '';
    expect(new URLSearchParams(asked.split('?')[1]).get('placement')).toBe('home');
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('Recommendation Shown'), POLL).toBe(1);
    // Before the fix the impression had no placement, while the request and the clicks said 'home'.
    expect(api.events.find(named('Recommendation Shown'))?.properties?.placement).toBe('home');
    await page.locator('#slot a.rx-link').first().click();
    await expect.poll(() => distinct('Product Clicked'), POLL).toBe(1);
    expect(api.events.find(named('Product Clicked'))?.properties?.placement).toBe('home');
    expect(errors).toEqual([]);
  });

  it('tracks a middle click on a recommendation (open in a new tab), and adds nothing to the cart on one', async () => {
    const { page, errors } = await browser.newPage();
    await open(page, shopPage());
    await page.locator('#slot .rx-block').waitFor();
    // The middle button fires `auxclick`, not `click`: before the fix the click was not tracked.
    await page.locator('#slot a.rx-link').first().click({ button: 'middle' });
    await expect.poll(() => distinct('Recommendation Clicked'), POLL).toBe(1);
    expect(distinct('Product Clicked')).toBe(1);
    expect(api.events.find(named('Product Clicked'))?.properties).toMatchObject({
      product_id: '85123A',
      position: 1,
      placement: 'product',
    });
    // Neither a middle nor a right click is an add-to-cart; a (primary) click after them is.
    await page.locator('#add').click({ button: 'middle' });
    await page.locator('#add').click({ button: 'right' });
    await page.locator('#add').click();
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    await page.evaluate("rx.track('Marker'); rx.flush()");
    await expect.poll(() => distinct('Marker'), POLL).toBe(1);
    expect(distinct('Product Added')).toBe(1);
    expect(errors).toEqual([]);
  });

  it("styles its blocks under a nonce-based Content-Security-Policy, with the tag's nonce", async () => {
    const { page, errors } = await browser.newPage();
    const nonce = 'c2NyaXB0LW5vbmNlLTE=';
    // The shop's page carries no block stylesheet of its own, so the plugin adds one; the policy lets
    // in only what carries the nonce, as on a shop with a strict CSP.
    const html = shopPage()
      .replace(/<style data-rx-styles>[^<]*<\/style>/, '')
      // The fixture's own inline handler is refused by this policy, and Chromium 156 (Debian's on
      // 2026-11-30) reports that as the page loads: it is the page's, not the plugin's, so it goes.
      .replace(' onsubmit="return false"', '')
      .replace(
        '<head>',
        `<head><meta http-equiv="Content-Security-Policy" content="script-src 'nonce-${nonce}' 'strict-dynamic'; style-src 'nonce-${nonce}'">` +
          `<script nonce="${nonce}">window.violations=[];document.addEventListener('securitypolicyviolation',(e)=>violations.push(e.effectiveDirective))</script>`,
      )
      .replace(/<script(?=[ >])/g, `<script nonce="${nonce}"`)
      .replace(`<script nonce="${nonce}" nonce="${nonce}">`, `<script nonce="${nonce}">`);
    await open(page, html);
    await page.locator('#slot .rx-block').waitFor();
    expect(await page.evaluate("document.querySelector('style[data-rx-styles]')?.nonce ?? null")).toBe(nonce);
    // A rule of the default stylesheet applies (`.rx-block{margin:1.5rem 0}`): the style was not refused.
    expect(await page.evaluate("getComputedStyle(document.querySelector('#slot .rx-block')).marginTop")).toBe(
      '24px',
    );
    expect(await page.evaluate('window.violations')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("adds no inline stylesheet where the shop links its own copy (data-rx-styles) under style-src 'self'", async () => {
    const { page, errors } = await browser.newPage();
    const consoleErrors = await withLinkedStyles(page);
    const html = shopPage().replace(
      /<style data-rx-styles>[^<]*<\/style>/,
      `<meta http-equiv="Content-Security-Policy" content="style-src 'self'">` +
        '<link rel="stylesheet" href="/rx-styles.css" data-rx-styles>' +
        "<script>window.violations=[];document.addEventListener('securitypolicyviolation',(e)=>violations.push(e.effectiveDirective))</script>",
    );
    await open(page, html);
    await expectLinkedStylesOnly(page, consoleErrors);
    expect(errors).toEqual([]);
  });

  it("finds the shop's linked stylesheet (data-rx-styles) further down a head still arriving when the script runs", async () => {
    const { page, errors } = await browser.newPage();
    const consoleErrors = await withLinkedStyles(page);
    // A script of the shop's between the tag and the link holds the parser for 1.5 s (as a slow
    // network holds the rest of the head): rx.js, async, runs in between, before the link exists.
    await page.route('**/theme.js', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await route.fulfill({ status: 200, contentType: 'text/javascript', body: 'window.themeRan = true;' });
    });
    const html = shopPage()
      .replace(
        /<style data-rx-styles>[^<]*<\/style>/,
        `<meta http-equiv="Content-Security-Policy" content="style-src 'self'">` +
          "<script>window.violations=[];document.addEventListener('securitypolicyviolation',(e)=>violations.push(e.effectiveDirective))</script>",
      )
      .replace(
        '</head>',
        '<script src="/theme.js"></script><link rel="stylesheet" href="/rx-styles.css" data-rx-styles></head>',
      );
    api.setPage(html);
    await page.goto(`${api.shopUrl}/products/85123A`, { waitUntil: 'commit' });
    // The plugin is running while the parser still waits for theme.js.
    await page.waitForFunction("typeof window.rx.track === 'function'", undefined, { polling: 50 });
    expect(await page.evaluate('[window.themeRan ?? false, document.readyState]')).toEqual([
      false,
      'loading',
    ]);
    // Before the fix the script looked for the link at once, missed it and injected a <style>, which
    // the policy refused (a violation and a console error).
    await expectLinkedStylesOnly(page, consoleErrors);
    expect(errors).toEqual([]);
  });

  it('prices an element switched to another product while the first price request is in flight', async () => {
    const { page, errors } = await browser.newPage();
    // The first request (the page's first product) waits until the test lets it go; the second (the
    // variant's) is answered only after the first, so the first run finishes while the element is
    // `loading` for the variant.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let firstAnswered = () => {};
    const firstDone = new Promise<void>((resolve) => {
      firstAnswered = resolve;
    });
    const asked: string[] = [];
    await page.route(`${api.apiUrl}/v1/prices**`, async (route) => {
      asked.push(new URL(route.request().url()).searchParams.get('product_ids') ?? '');
      if (asked.length === 1) {
        await released;
        await route.continue();
        firstAnswered();
      } else {
        await firstDone;
        await new Promise((resolve) => setTimeout(resolve, 300));
        await route.continue();
      }
    });
    await open(page, shopPage());
    await expect.poll(() => asked, POLL).toEqual(['85123A']);
    // A variant picker: the same element, the variant's id, then a scan.
    await page.evaluate("document.querySelector('#price').dataset.rxProductId = '22423'; rx.scan()");
    await expect.poll(() => asked, POLL).toEqual(['85123A', '22423']);
    release();
    // Before the fix the first run marked the element `failed` (no quote for 22423 in its answer),
    // and the second run, finding it no longer `loading`, left it so.
    await expect
      .poll(() => page.locator('#price').getAttribute('data-rx-price-token'), POLL)
      .toBe('token-22423');
    expect(await page.locator('#price').getAttribute('data-rx-state')).toBe('priced');
    expect(await page.locator('#price').textContent()).toBe('£2.10');
    expect(errors).toEqual([]);
  });

  it('keeps a slot filled for its new product when the request for its earlier one fails afterwards', async () => {
    const { page, errors } = await browser.newPage();
    // The request for the first product hangs until the test fails it (503), after the one for the
    // slot's new product was answered and rendered.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const asked: string[] = [];
    await page.route(`${api.apiUrl}/v1/recommendations**`, async (route) => {
      const productId = new URL(route.request().url()).searchParams.get('product_id') ?? '';
      asked.push(productId);
      if (productId !== '85123A') return route.continue();
      await released;
      await route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{}}' });
    });
    await open(page, shopPage({ tag: 'data-debug' }));
    await expect.poll(() => asked, POLL).toEqual(['85123A']);
    await page.evaluate("document.querySelector('#slot').dataset.rxProductId = '22423'; rx.scan()");
    await page.locator('#slot .rx-block').waitFor();
    expect(await page.locator('#slot').getAttribute('data-rx-state')).toBe('filled');
    // The failure's debug line is written right after the slot's state was (or, now, was not) set.
    const failureReported = page.waitForEvent('console', (message) => message.text().startsWith('[rx] slot'));
    release();
    await failureReported;
    // Before the fix the failing request marked the slot `failed`, over the newer request's block.
    expect(await page.locator('#slot').getAttribute('data-rx-state')).toBe('filled');
    expect(await page.locator('#slot .rx-block').count()).toBe(1);
    expect(asked).toEqual(['85123A', '22423']);
    expect(errors).toEqual([]);
  });

  it('trims the spaces around a product id, as the API does: a blank id fails alone, "85123A " is priced', async () => {
    const { page, errors } = await browser.newPage();
    const html = shopPage()
      .replace(
        'id="price" data-rx-price data-rx-product-id="85123A"',
        'id="price" data-rx-price data-rx-product-id="85123A "',
      )
      .replace('</main>', '</main><span id="blank" data-rx-price data-rx-product-id=" ">£9.99</span>');
    await open(page, html);
    await page.waitForFunction(
      "[...document.querySelectorAll('[data-rx-price]')].every((el) => ['priced', 'failed'].includes(el.dataset.rxState))",
    );
    // Before the fix " " was sent, the API (which trims it to "") refused the whole request (400), and
    // every price of the page failed; and "85123A " was answered as "85123A", which it did not find.
    expect(await page.locator('#price').getAttribute('data-rx-state')).toBe('priced');
    expect(await page.locator('#price').getAttribute('data-rx-price-token')).toBe('token-85123A');
    expect(await page.locator('#blank').getAttribute('data-rx-state')).toBe('failed');
    expect(await page.locator('#blank').textContent()).toBe('£9.99');
    const asked = api.requests
      .filter((r) => r.method === 'GET' && r.path.startsWith('/v1/prices'))
      .map((r) => new URLSearchParams(r.path.split('?')[1]).get('product_ids'));
    expect(asked).toEqual(['85123A']);
    expect(errors).toEqual([]);
  });
});
