/**
 * What the built plugin sends, in real headless Chromium against the recording API: each event as it
 * was tracked, one request at a time during an intake outage, every open tab's unsent events, and each
 * event once when the ESM build and a tag (the one the proxy injects) are both on the page. (Batching, consent and retries across a
 * reload: plugin-behaviour.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RxEventInput } from '../../contracts/event-types';
import { validateEvent } from '../../contracts/events';
import { api, browser, usePluginInChromium } from './plugin-in-chromium';

usePluginInChromium();

/** Browser code: every event in the plugin's stored queues (the legacy `rx_q`, one `rx_q.<id>` per page). */
const STORED_EVENTS =
  'Object.keys(localStorage).filter((k) => /^rx_q(\\.|$)/.test(k)).flatMap((k) => JSON.parse(localStorage.getItem(k)))';
/** Events wait up to 5 s for their batch timer; polls wait longer than that. */
const POLL = { timeout: 10_000 } as const;

const named = (name: string) => (e: RxEventInput) => (e.type === 'track' ? e.event : e.type) === name;
/** Distinct events (by messageId) of a name: delivery is at least once. */
const distinct = (name: string) => new Set(api.events.filter(named(name)).map((e) => e.messageId)).size;
/**
 * Event posts; with `name`, only those carrying an event of that name (or not read yet). A test that
 * counts requests names its own events: a page of the test before may still send what it held while
 * its context closes (pagehide sends everything waiting), and such a late post must not count here.
 */
const eventPosts = (name?: string) =>
  api.requests.filter(
    (r) =>
      r.method === 'POST' &&
      r.path === '/v1/events' &&
      (name === undefined || r.body === undefined || r.body.includes(`"event":${JSON.stringify(name)}`)),
  ).length;

function shopPage(): string {
  return `<!doctype html><html><head><title>Heart holder</title>
<script src="${api.apiUrl}/rx.js" async data-site="demo"></script>
</head><body><main data-rx-view data-rx-product-id="85123A"><h1>Heart holder</h1></main></body></html>`;
}

/** A product page whose own bundle starts the ESM build; `head` goes before it, `after` runs after `init`. */
function esmShopPage(head: string, after: string): string {
  return `<!doctype html><html><head><title>Heart holder</title>${head}
<script type="module">
import { init } from '${api.apiUrl}/rx.esm.js';
window.esmRx = init({ api: '${api.apiUrl}', site: 'demo' });
${after}
</script></head><body><main data-rx-view data-rx-product-id="85123A"><h1>Heart holder</h1>
<button id="add" type="button" data-rx-add-to-cart data-rx-product-id="85123A">Add to cart</button></main></body></html>`;
}

/** An event as an earlier version of rx.js stored it, valid for the intake. */
function legacyEvent(name: string): RxEventInput {
  const event: RxEventInput = {
    type: 'track',
    event: name,
    properties: { n: 1 },
    messageId: randomUUID(),
    anonymousId: randomUUID(),
    timestamp: new Date().toISOString(),
    context: { library: { name: 'rx.js', version: '1' }, site: 'demo' },
  };
  expect(validateEvent(event).ok).toBe(true);
  return event;
}

/** Stores `events` as the one shared `rx_q` of earlier versions, before the script loads (not again on reloads). */
async function seedLegacyQueue(page: Page, events: RxEventInput[]): Promise<void> {
  await page.addInitScript(`if (location.origin === ${JSON.stringify(api.shopUrl)} && !sessionStorage.seeded) {
    sessionStorage.seeded = '1';
    localStorage.setItem('rx_q', ${JSON.stringify(JSON.stringify(events))});
  }`);
}

/** Serves the shop page with the intake down: every event post answered 503 until `failNextEventPosts(0)`. */
function shopPageDuringOutage(): void {
  api.setPage(shopPage());
  api.failNextEventPosts(1_000);
}

/** A shopper who keeps browsing: 25 events named `name` (`{ n }` from 0), tracked `gapMs` apart. */
async function trackRepeatedly(page: Page, name: string, gapMs: number): Promise<void> {
  await page.evaluate(`(async () => {
    for (let i = 0; i < 25; i++) {
      rx.track(${JSON.stringify(name)}, { n: i });
      await new Promise((resolve) => setTimeout(resolve, ${gapMs}));
    }
  })()`);
}

/** Two tabs of the shop opened during an outage (`errors`: the first tab's). */
async function twoTabsDuringOutage(): Promise<{ first: Page; second: Page; errors: Error[] }> {
  shopPageDuringOutage();
  const { page: first, errors } = await browser.newPage();
  const { page: second } = await browser.newPage();
  await Promise.all([open(first), open(second)]);
  return { first, second, errors };
}

async function open(page: Page): Promise<void> {
  await page.goto(`${api.shopUrl}/products/85123A`);
  await page.waitForFunction("typeof window.rx?.track === 'function'");
}

describe('rx.js event delivery in Chromium (recording API)', () => {
  it('sends each event as it was when tracked, whatever the shop does to its object afterwards', async () => {
    api.setPage(shopPage());
    const { page, errors } = await browser.newPage();
    await open(page);
    // The shop empties its cart object right after reporting the order (the batch goes up to 5 s later).
    const tracked = (await page.evaluate(`const order = { order_id: 'o-1', revenue: 15.3, currency: 'GBP',
        products: [{ product_id: '85123A', quantity: 6, price: 2.55 }] };
      rx.track('Order Completed', order);
      const json = JSON.stringify(order);
      order.products.length = 0;
      order.revenue = 0;
      rx.flush();
      json`)) as string;
    await expect.poll(() => distinct('Order Completed'), POLL).toBe(1);
    expect(api.events.find(named('Order Completed'))?.properties).toEqual(JSON.parse(tracked));
    // The bytes posted are the tracked object's JSON, in a body that is one compact JSON document.
    const body = api.bodies.find((b) => b.includes('Order Completed')) ?? '';
    expect(body).toContain(`"properties":${tracked}`);
    expect(body).toBe(JSON.stringify(JSON.parse(body)));

    // An object that later refers to itself (a framework's parent link): it was sent as tracked, and
    // neither it nor the events after it are held up.
    await page.evaluate(`const cart = { items: [] };
      rx.track('Cart Viewed', cart);
      cart.self = cart;
      rx.track('After Cart');
      rx.flush()`);
    await expect.poll(() => distinct('After Cart'), POLL).toBe(1);
    expect(api.events.find(named('Cart Viewed'))?.properties).toEqual({ items: [] });
    await expect.poll(async () => ((await page.evaluate(STORED_EVENTS)) as unknown[]).length, POLL).toBe(0);
    expect(errors).toEqual([]);
  });

  it('sends products as arrays on a page whose Array.prototype.toJSON returns a string (Prototype.js 1.6)', async () => {
    api.setPage(shopPage());
    const { page, errors } = await browser.newPage();
    // What Prototype.js 1.6 does: JSON.stringify then turns every array into a string of JSON.
    await page.addInitScript(`Array.prototype.toJSON = function () {
      return '[' + this.map((value) => JSON.stringify(value)).join(', ') + ']';
    };`);
    await open(page);
    const products = [{ product_id: '85123A', quantity: 6, price: 2.55 }];
    await page.evaluate(`rx.track('Order Completed', { order_id: 'o-3', revenue: 15.3, currency: 'GBP',
        products: ${JSON.stringify(products)} });
      rx.flush()`);
    // Before the fix `products` went as a string: the intake refused the event and the order was lost.
    await expect.poll(() => distinct('Order Completed'), POLL).toBe(1);
    expect(api.events.find(named('Order Completed'))?.properties?.products).toEqual(products);
    // The page's own serialisation is left as the page made it.
    expect(await page.evaluate('JSON.stringify({ a: [1] })')).toBe('{"a":"[1]"}');
    expect(errors).toEqual([]);
  });

  it("sends again a batch whose send the shop's fetch wrapper broke by throwing instead of rejecting", async () => {
    api.setPage(shopPage());
    const { page, errors } = await browser.newPage();
    // A shop's own wrapper, not async, reading `init.headers.get` (the plugin passes a plain object):
    // it throws at the call. The test switches it on and off.
    await page.addInitScript(`const shopFetch = window.fetch;
      window.fetch = function (input, init) {
        if (window.wrapperBroken && init && init.method === 'POST') init.headers.get('x-shop-token');
        return shopFetch.call(this, input, init);
      };`);
    await open(page);
    await page.evaluate("window.wrapperBroken = true; rx.track('Sent Through Broken Wrapper'); rx.flush()");
    // The wrapper works again (a later deploy, another code path): the next send takes that event too.
    // Before the fix its batch stayed "in flight" for good, and no send of this page took it again.
    await page.evaluate("window.wrapperBroken = false; rx.track('After The Wrapper'); rx.flush()");
    await expect.poll(() => distinct('After The Wrapper'), POLL).toBe(1);
    await expect.poll(() => distinct('Sent Through Broken Wrapper'), POLL).toBe(1);
    await expect.poll(async () => ((await page.evaluate(STORED_EVENTS)) as unknown[]).length, POLL).toBe(0);
    expect(errors).toEqual([]);
  });

  it("sends again, without a page error, a batch whose send the shop's fetch wrapper answered with no Response", async () => {
    api.setPage(shopPage());
    const { page, errors } = await browser.newPage();
    // A shop's own wrapper that holds back some requests and forgets to return anything for them
    // (`undefined`, not a promise of a Response). The test switches it on and off.
    await page.addInitScript(`const shopFetch = window.fetch;
      window.fetch = function (input, init) {
        if (window.wrapperHolds && init && init.method === 'POST') return;
        return shopFetch.call(this, input, init);
      };`);
    await open(page);
    await page.evaluate("window.wrapperHolds = true; rx.track('Held By The Wrapper'); rx.flush()");
    // Let the plugin take the wrapper's answer before it lets requests through again.
    await page.evaluate('new Promise((resolve) => setTimeout(resolve, 100))');
    // Before the fix the page had an uncaught TypeError (reading `status` of undefined) and the batch
    // stayed "in flight" for good: no send of this page took its event again.
    await page.evaluate("window.wrapperHolds = false; rx.track('After The Wrapper'); rx.flush()");
    await expect.poll(() => distinct('After The Wrapper'), POLL).toBe(1);
    await expect.poll(() => distinct('Held By The Wrapper'), POLL).toBe(1);
    await expect.poll(async () => ((await page.evaluate(STORED_EVENTS)) as unknown[]).length, POLL).toBe(0);
    expect(errors).toEqual([]);
  });

  it('with data-debug, says which event the intake refused and why, while the good ones are stored', async () => {
    api.setPage(shopPage().replace('data-site="demo"', 'data-site="demo" data-debug'));
    const { page, errors } = await browser.newPage();
    // Each console.warn's arguments, copied in the page as they are logged (reading them back through
    // the console event's handles is asynchronous, and under load that lost one in CI).
    await page.addInitScript(`window.rxWarnings = [];
      const warn = console.warn.bind(console);
      console.warn = (...args) => { rxWarnings.push(JSON.parse(JSON.stringify(args))); warn(...args); };`);
    const warnings = async () => (await page.evaluate('window.rxWarnings')) as unknown[][];
    await open(page);
    // A theme printing the order total as text with its symbol (a plain "15.30" is taken as the number
    // since 2026-11-30): the intake refuses that one event, and takes the rest.
    await page.evaluate(`rx.track('Order Completed', { order_id: 'o-2', revenue: '£15.30' });
      rx.track('After Refused Order');
      rx.flush()`);
    await expect.poll(() => distinct('After Refused Order'), POLL).toBe(1);
    expect(distinct('Order Completed')).toBe(0);
    await expect.poll(async () => (await warnings()).length, POLL).toBe(1);
    const [where, answer] = (await warnings())[0] ?? [];
    expect(where).toBe('[rx] rejected 202');
    expect(answer).toMatchObject({
      rejected: [expect.objectContaining({ field: 'properties.revenue' })],
    });
    expect(errors).toEqual([]);
  });

  it('retries a batch answered 408 (timed out on its way) like a 5xx, instead of dropping it as a refusal', async () => {
    api.setPage(shopPage());
    const { page, errors } = await browser.newPage();
    await open(page);
    // The page's own events go first: the preflight for event posts is cached from then on.
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('page'), POLL).toBe(1);
    // Any proxy or load balancer in front of the worker can answer 408 when a request was slow to
    // arrive. On a new connection (Chromium itself sends a request answered 408 on a reused one again).
    api.failNextEventPosts(1, 408);
    api.closeConnections();
    await page.evaluate("rx.track('Timed Out Once'); rx.flush()");
    await expect.poll(() => api.requests.some((r) => r.body?.includes('Timed Out Once')), POLL).toBe(true);
    expect(distinct('Timed Out Once')).toBe(0);
    // Kept for a retry (before the fix: dropped, as a 400 is): a flush once the answer is in sends it
    // again (one while the failed request is still in flight sends nothing, hence the repeats).
    expect(await page.evaluate(`JSON.stringify(${STORED_EVENTS})`)).toContain('Timed Out Once');
    const flushed = async () => {
      await page.evaluate('rx.flush()');
      return distinct('Timed Out Once');
    };
    await expect.poll(flushed, POLL).toBe(1);
    expect(errors).toEqual([]);
  });

  it('meets an intake outage with one request at a time, and sends everything once it is back', async () => {
    shopPageDuringOutage();
    const { page, errors } = await browser.newPage();
    await open(page);
    // A shopper keeps browsing while every post fails: an event every 40 ms, 25 of them.
    await trackRepeatedly(page, 'During Outage', 40);
    // One failed batch, then the back-off (10 s): no request per event.
    await page.waitForTimeout(300);
    expect(eventPosts('During Outage')).toBeLessThanOrEqual(2);

    // The next page opens with ~28 events left in storage: one batch probes the intake, not all three.
    // Counted on that page: the first page, still open, sends its own retry when its back-off ends.
    const { page: next } = await browser.newPage();
    let nextPosts = 0;
    next.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/events') nextPosts++;
    });
    await open(next);
    await expect.poll(() => nextPosts, POLL).toBe(1);
    await next.waitForTimeout(1_000);
    expect(nextPosts).toBe(1);

    // Back: the probe is accepted and the rest follows at once, in batches of ten.
    api.failNextEventPosts(0);
    await next.evaluate('rx.flush()');
    await expect.poll(() => distinct('During Outage'), POLL).toBe(25);
    expect(api.batches.every((batch) => batch.length <= 10)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('sends everything waiting when the shopper leaves, even while backing off', async () => {
    shopPageDuringOutage();
    const { page, errors } = await browser.newPage();
    await open(page);
    await trackRepeatedly(page, 'Before Leaving', 20);
    expect(eventPosts('Before Leaving')).toBeLessThanOrEqual(2);
    // The intake is back before the back-off (10 s) ends, and the shopper leaves the shop.
    api.failNextEventPosts(0);
    await page.goto('about:blank');
    // The page is gone: nothing but its leaving can have sent them, however long this waits.
    await expect.poll(() => distinct('Before Leaving'), POLL).toBe(25);
    expect(errors).toEqual([]);
  });

  it('sends what is tracked while the page is hidden, or after its pagehide, at once instead of after 5 s', async () => {
    api.setPage(shopPage());
    const { page, errors } = await browser.newPage();
    await open(page);
    const setHidden = (hidden: boolean) =>
      page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${hidden ? 'hidden' : 'visible'}' });
        document.dispatchEvent(new Event('visibilitychange'))`);
    // Well under the 5 s batch delay, which a hidden page's timers may never reach (before the fix).
    const SOON = { timeout: 2_500 } as const;
    // The shop reports the shopper leaving the tab from its own listener, after the plugin's.
    await page.evaluate(
      "document.addEventListener('visibilitychange', () => document.hidden && rx.track('Tab Hidden'))",
    );
    await setHidden(true);
    await expect.poll(() => distinct('Tab Hidden'), SOON).toBe(1);
    await page.evaluate("rx.track('While Hidden')");
    await expect.poll(() => distinct('While Hidden'), SOON).toBe(1);
    // Shown again: events wait for their batch again.
    await setHidden(false);
    await page.evaluate("rx.track('Visible Again')");
    await page.waitForTimeout(1_000);
    expect(distinct('Visible Again')).toBe(0);
    // Chromium fires pagehide while the page is still visible: what the shop tracks in its own pagehide
    // listener, after the plugin's, goes at once too (a page kept in the back-forward cache lives on).
    await page.evaluate(
      "addEventListener('pagehide', () => rx.track('On Pagehide')); dispatchEvent(new Event('pagehide'))",
    );
    await expect.poll(() => distinct('On Pagehide'), SOON).toBe(1);
    expect(errors).toEqual([]);
  });

  it('keeps the unsent events of every open tab in storage, so an offline tab that closes loses none', async () => {
    const { first, second, errors } = await twoTabsDuringOutage();
    // Both tabs are open, offline, when each records an event.
    await first.evaluate("rx.track('From First Tab')");
    await second.evaluate("rx.track('From Second Tab')");
    // Each under its own key: the second tab's save leaves the first's events in place.
    const storedIn = async (page: Page) => (await page.evaluate(STORED_EVENTS)) as RxEventInput[];
    await expect
      .poll(async () => (await storedIn(second)).filter(named('From First Tab')).length, POLL)
      .toBe(1);
    expect((await storedIn(second)).filter(named('From Second Tab'))).toHaveLength(1);

    // The first tab closes while still offline (its last send fails), then the intake is back: the next
    // page sends what that tab left, and takes it out of storage once accepted.
    await first.close();
    await second.waitForTimeout(1_000);
    api.failNextEventPosts(0);
    const { page: next } = await browser.newPage();
    await open(next);
    await expect.poll(() => distinct('From First Tab'), POLL).toBe(1);
    await expect
      .poll(async () => (await storedIn(next)).filter(named('From First Tab')).length, POLL)
      .toBe(0);
    expect(errors).toEqual([]);
  });

  it('sends the queue an older version of the script left under rx_q, and removes that key', async () => {
    api.setPage(shopPage());
    const legacy = legacyEvent('Legacy Queued');
    const { page, errors } = await browser.newPage();
    await seedLegacyQueue(page, [legacy]);
    await open(page);
    await expect.poll(() => distinct('Legacy Queued'), POLL).toBe(1);
    expect(api.events.find(named('Legacy Queued'))).toEqual(legacy);
    expect(await page.evaluate("localStorage.getItem('rx_q')")).toBeNull();
    await expect
      .poll(
        async () => ((await page.evaluate(STORED_EVENTS)) as RxEventInput[]).filter(named('Legacy Queued')),
        POLL,
      )
      .toEqual([]);
    // Taken once: a reload does not send it again.
    await page.reload();
    await page.evaluate("rx.track('After Reload'); rx.flush()");
    await expect.poll(() => distinct('After Reload'), POLL).toBe(1);
    expect(api.events.filter(named('Legacy Queued'))).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('leaves the stored queues alone until consent allows storage, then sends them', async () => {
    api.setPage(shopPage().replace('data-site="demo"', 'data-site="demo" data-consent="required"'));
    const legacy = legacyEvent('Queued Before Consent');
    const { page, errors } = await browser.newPage();
    await seedLegacyQueue(page, [legacy]);
    await open(page);
    // The script started without storage: it neither read nor removed the queue it cannot take yet.
    expect(await page.evaluate("localStorage.getItem('rx_q')")).toContain(legacy.messageId);
    await page.evaluate('rx.consent(true)');
    await expect.poll(() => distinct('Queued Before Consent'), POLL).toBe(1);
    expect(await page.evaluate("localStorage.getItem('rx_q')")).toBeNull();
    expect(errors).toEqual([]);
  });

  it("deletes every tab's stored queue, and the legacy rx_q, when consent is withdrawn", async () => {
    const { first, second, errors } = await twoTabsDuringOutage();
    await first.evaluate("localStorage.setItem('rx_q', '[]'); rx.track('From First Tab')");
    await second.evaluate("rx.track('From Second Tab')");
    const queueKeys = "Object.keys(localStorage).filter((k) => k.startsWith('rx_q'))";
    // The first tab sees both tabs' keys and the legacy one...
    await expect
      .poll(
        async () =>
          ((await first.evaluate(STORED_EVENTS)) as RxEventInput[]).filter(named('From Second Tab')).length,
        POLL,
      )
      .toBe(1);
    expect(((await first.evaluate(queueKeys)) as string[]).length).toBeGreaterThanOrEqual(3);
    // ...and withdrawing consent there deletes them all (the host's own keys stay).
    await first.evaluate("localStorage.setItem('rx_quiz', 'host'); rx.consent(false)");
    expect(await first.evaluate(queueKeys)).toEqual(['rx_quiz']);
    expect(errors).toEqual([]);
  });

  it('keeps the events of tabs that save at the same moment, so the tabs closed offline lose none', async () => {
    shopPageDuringOutage();
    // Six tabs of one shop open at once while the intake refuses, and each records its events at the
    // same moment: saves that a shared, merged queue loses to each other (Chromium hands a tab's write
    // to the other tabs asynchronously).
    const tabs = await Promise.all(Array.from({ length: 6 }, () => browser.newPage()));
    const pages = tabs.map((tab) => tab.page);
    await Promise.all(pages.map(open));
    await Promise.all(
      pages.map((page, tab) =>
        page.evaluate(`for (let n = 0; n < 3; n++) rx.track('Tab Event', { tab: ${tab}, n })`),
      ),
    );
    // All but the first close, still offline: their last sends (on pagehide) fail too.
    const [survivor, ...closing] = pages as [Page, ...Page[]];
    const before = eventPosts();
    await Promise.all(closing.map((page) => page.close()));
    await expect.poll(() => eventPosts(), POLL).toBeGreaterThanOrEqual(before + closing.length);
    await survivor.waitForTimeout(500);

    // The intake is back and the shopper opens one more page: it sends every event the closed tabs
    // recorded (and the open one's), each once, and the stored queues end without the closed tabs'.
    api.failNextEventPosts(0);
    const { page: next } = await browser.newPage();
    await open(next);
    const sent = () =>
      new Set(
        api.events
          .filter(named('Tab Event'))
          .map((e) => `${String(e.properties?.tab)}/${String(e.properties?.n)}`),
      );
    const expected = pages.flatMap((_, tab) => [0, 1, 2].map((n) => `${tab}/${n}`));
    await expect.poll(() => [...sent()].sort(), POLL).toEqual(expected.sort());
    expect(distinct('Tab Event')).toBe(expected.length);
    await expect
      .poll(async () => {
        const stored = (await next.evaluate(STORED_EVENTS)) as RxEventInput[];
        return stored.filter((e) => named('Tab Event')(e) && e.properties?.tab !== 0).length;
      }, POLL)
      .toBe(0);
    expect(tabs.flatMap((tab) => tab.errors)).toEqual([]);
  });

  it('starts once when the ESM build and a tag are both on the page, whichever runs first', async () => {
    const { page, errors } = await browser.newPage();
    // The tag the proxy injects (async, with its rules), arriving after the shop's bundle has run.
    await page.route(`${api.apiUrl}/rx.js`, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await route.continue();
    });
    const proxyTag = (rules: string) =>
      `<script src="${api.apiUrl}/rx.js" async ${rules} onload="window.tagRan = true"></script>`;
    const load = async (html: string) => {
      api.setPage(html);
      await page.goto(`${api.shopUrl}/products/85123A`);
      await page.waitForFunction('window.tagRan === true && window.esmRx !== undefined');
      expect(await page.evaluate('window.rx === window.esmRx')).toBe(true);
    };

    // The proxy recorded the page view (and Product Viewed): the ESM instance sends neither, and the
    // tag starts no second instance.
    await load(esmShopPage(proxyTag('data-rx-page-view="sent"'), ''));
    await page.click('#add');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    expect(distinct('Product Viewed') + distinct('page')).toBe(0);

    // RX_CONSENT=required on the proxy: nothing is sent before consent, though the bundle did not say so.
    await load(esmShopPage(proxyTag('data-consent="required"'), ''));
    await page.click('#add');
    await page.evaluate('rx.flush()');
    await page.waitForTimeout(500);
    expect(distinct('Product Added')).toBe(1);
    await page.evaluate('rx.consent(true)');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(2);
    expect(distinct('page')).toBe(1);

    // The tag first (pasted into the theme as well): init returns the running instance.
    await load(esmShopPage(proxyTag('data-site="demo"').replace(' async', ''), ''));
    await page.click('#add');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(3);
    await page.evaluate('rx.flush()');
    await expect.poll(() => distinct('page'), POLL).toBe(2);
    await page.waitForTimeout(500);
    expect(distinct('Product Added')).toBe(3);
    expect(distinct('Product Viewed')).toBe(2);
    expect(errors).toEqual([]);
  });

  it("returns the tag's instance from init on a page whose own code has a window.rx, which stays the shop's", async () => {
    const { page, errors } = await browser.newPage();
    api.setPage(
      esmShopPage(
        `<script>window.rx = { shopOwn: 'yes' };</script><script src="${api.apiUrl}/rx.js" data-site="demo"></script>`,
        '',
      ),
    );
    await page.goto(`${api.shopUrl}/products/85123A`);
    await page.waitForFunction('window.esmRx !== undefined');
    expect(await page.evaluate('window.esmRx === window._rx')).toBe(true);
    expect(await page.evaluate('JSON.stringify(window.rx)')).toBe('{"shopOwn":"yes"}');
    await page.click('#add');
    await expect.poll(() => distinct('Product Added'), POLL).toBe(1);
    await page.evaluate('esmRx.flush()');
    await expect.poll(() => distinct('page'), POLL).toBe(1);
    await page.waitForTimeout(500);
    expect(distinct('Product Added')).toBe(1);
    expect(errors).toEqual([]);
  });
});
