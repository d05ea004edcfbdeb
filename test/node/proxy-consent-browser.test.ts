/**
 * Proxy mode with `RX_CONSENT=required`, end to end in real headless Chromium against the real local
 * stack (`startStack`, as `npm start`): the worker's rule (track only with the `rx_consent` cookie) and
 * the plugin's (`rx.consent(true)` sets it, `rx.consent(false)` deletes it) meet in one browser. Then
 * with the shop's own script-mode tag on another host than the page's (a stack of its own).
 */
import { MongoClient } from 'mongodb';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/ports';
import { type Stack, startStack } from '../../scripts/dev/stack';
import { stackMongo } from '../support/test-mongo';
import { DESKTOP_CHROME_USER_AGENT, launchBrowser, type TestBrowser } from './plugin-browser';

let stack: Stack;
/** The stack's own local MongoDB, or a fresh database on RX_TEST_MONGODB_URI (test-mongo.ts). */
const testMongo = stackMongo();
let mongo: MongoClient;
let browser: TestBrowser;

const cookiesOf = async (of: TestBrowser) =>
  Object.fromEntries((await of.context.cookies()).map((cookie) => [cookie.name, cookie.value]));
const cookies = () => cookiesOf(browser);

/**
 * What the worker sent (the HTML, not the live DOM): how many server-rendered blocks, and whether the
 * page was this shopper's own (the worker sent its page view and says so on the plugin tag).
 */
async function serverPage(page: Page, path: string): Promise<{ blocks: number; personal: boolean }> {
  const response = await page.goto(`${stack.workerUrl}${path}`);
  const html = (await response?.text()) ?? '';
  return {
    blocks: html.split('<section class="rx-block').length - 1,
    personal: html.includes('data-rx-page-view="sent"'),
  };
}

async function storedEvents(anonymousId: string): Promise<number> {
  return mongo.db(testMongo.database).collection('events').countDocuments({ anonymousId });
}

describe('proxy mode with consent required, in Chromium', () => {
  // The stack of this block alone: the next block starts one of its own, once this one has stopped.
  beforeAll(async () => {
    stack = await startStack({
      // Everyone who consents is in the treatment bucket; generous budgets, as this checks behaviour.
      workerVars: {
        ...testMongo.workerVars,
        HOLDOUT_PERCENT: '0',
        RX_CONSENT: 'required',
        PERSONALIZATION_BUDGET_MS: '5000',
        CACHE_BUDGET_MS: '5000',
      },
      readyTimeoutMs: 150_000,
    });
    mongo = new MongoClient(testMongo.uri(stack));
    browser = await launchBrowser({ userAgent: DESKTOP_CHROME_USER_AGENT });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await mongo?.close();
    await stack?.stop();
    await testMongo.drop();
  }, 60_000);

  it('tracks nobody before rx.consent(true), personalizes after it, and stops after rx.consent(false)', async () => {
    const { page, errors } = await browser.newPage();

    // Before consent the slot is still in the HTML, with non-personal results; nothing is tracked.
    expect(await serverPage(page, '/products/85123A')).toEqual({ blocks: 1, personal: false });
    await page.waitForFunction('typeof window.rx === "object" && !Array.isArray(window.rx)');
    expect(await cookies()).toEqual({});

    await page.evaluate('rx.consent(true)');
    const granted = await cookies();
    expect(granted.rx_consent).toBe('1');
    expect(granted.rx_uid).toMatch(/^[0-9a-f-]{36}$/);
    const shopper = granted.rx_uid ?? '';

    // The next navigation: the worker sees the cookie and personalizes server-side.
    expect(await serverPage(page, '/products/22423')).toEqual({ blocks: 1, personal: true });
    await expect.poll(() => storedEvents(shopper), { timeout: 20_000 }).toBeGreaterThan(0);

    await page.evaluate('rx.consent(false)');
    expect(await cookies()).toEqual({});
    expect(await serverPage(page, '/products/85123A')).toEqual({ blocks: 1, personal: false });
    expect(await cookies()).toEqual({});
    expect(errors).toEqual([]);
  }, 90_000);
});

/**
 * A script-mode shop moving to proxy mode keeps its tag, on another host than its pages' (the worker's
 * `*.workers.dev` address, or a hostname of its own for the worker). Here the demo shop's pages carry
 * `<script src="http://127.0.0.1:PORT/rx.js" data-site>` (script mode) and the browser asks
 * `http://localhost:PORT`: the same worker under another host name. The worker used to inject its own
 * tag as well, and whichever ran first configured the page: the shop's, told no rules, tracked before
 * consent (rx_uid cookie, events, the id sent to the API) and counted the worker's page view again.
 */
describe("proxy mode with consent required and the shop's own tag on another host, in Chromium", () => {
  const tagMongo = stackMongo();
  let tagStack: Stack;
  let tagMongoClient: MongoClient;
  let tagBrowser: TestBrowser;
  let pageOrigin = '';

  beforeAll(async () => {
    const port = await freePort('127.0.0.1');
    pageOrigin = `http://localhost:${port}`;
    tagStack = await startStack({
      shopScriptMode: true,
      workerPort: port,
      workerVars: {
        ...tagMongo.workerVars,
        HOLDOUT_PERCENT: '0',
        RX_CONSENT: 'required',
        PERSONALIZATION_BUDGET_MS: '5000',
        CACHE_BUDGET_MS: '5000',
        // The plugin, loaded from 127.0.0.1, calls its API there from pages on localhost.
        SHOP_ORIGINS: pageOrigin,
      },
      readyTimeoutMs: 150_000,
    });
    tagMongoClient = new MongoClient(tagMongo.uri(tagStack));
    tagBrowser = await launchBrowser({ userAgent: DESKTOP_CHROME_USER_AGENT });
  }, 180_000);

  afterAll(async () => {
    await tagBrowser?.close();
    await tagMongoClient?.close();
    await tagStack?.stop();
    await tagMongo.drop();
  }, 60_000);

  /** The plugin tags of the HTML the worker sent. */
  async function pluginTags(page: Page, path: string): Promise<string[]> {
    const response = await page.goto(`${pageOrigin}${path}`);
    const html = (await response?.text()) ?? '';
    return html.match(/<script [^>]*src="[^"]*\/rx\.js"[^>]*>/g) ?? [];
  }

  it('the shop’s tag is told the rules and is the only one: nothing tracked before consent, no view counted twice', async () => {
    const { page, errors } = await tagBrowser.newPage();
    const shopTag = `${tagStack.workerUrl}/rx.js`;
    expect(shopTag).not.toContain(pageOrigin);
    /**
     * What the plugin sent: its event batches' events, each once by messageId (delivery is at least
     * once: a batch in flight when the page unloads is sent again by the next page, and the intake
     * stores it once), and its API calls' shopper id header.
     */
    const sent: Array<{ type: string; event?: string; path?: string }> = [];
    const sentIds = new Set<string>();
    const apiIds: Array<string | undefined> = [];
    page.on('request', (request: Request) => {
      const url = new URL(request.url());
      if (url.pathname === '/v1/events' && request.method() === 'POST') {
        const body = JSON.parse(request.postData() ?? '{}') as {
          batch?: Array<{
            messageId: string;
            type: string;
            event?: string;
            context?: { page?: { path?: string } };
          }>;
        };
        for (const event of body.batch ?? []) {
          if (sentIds.has(event.messageId)) continue;
          sentIds.add(event.messageId);
          sent.push({ type: event.type, event: event.event, path: event.context?.page?.path });
        }
      } else if (url.pathname.startsWith('/v1/')) {
        apiIds.push(request.headers()['x-rx-uid']);
      }
    });

    // Before consent: one tag, the shop's, with the consent rule; no cookie, no storage, no event.
    const before = await pluginTags(page, '/products/85123A');
    expect(before).toHaveLength(1);
    expect(before[0]).toContain(`src="${shopTag}"`);
    expect(before[0]).toContain('data-consent="required"');
    expect(before[0]).not.toContain('data-rx-page-view');
    await page.waitForFunction('typeof window.rx === "object" && !Array.isArray(window.rx)');
    await page.evaluate('rx.flush()');
    await page.waitForTimeout(1_500);
    expect(await cookiesOf(tagBrowser)).toEqual({});
    expect(await page.evaluate('Object.keys(localStorage).filter((key) => key.startsWith("rx"))')).toEqual(
      [],
    );
    expect(sent).toEqual([]);
    expect(apiIds.filter(Boolean)).toEqual([]);

    // After consent, the next page: the worker counts its view and says so on the shop's tag.
    await page.evaluate('rx.consent(true)');
    const shopper = (await cookiesOf(tagBrowser)).rx_uid ?? '';
    expect(shopper).toMatch(/^[0-9a-f-]{36}$/);
    const after = await pluginTags(page, '/products/22423');
    expect(after).toHaveLength(1);
    expect(after[0]).toContain('data-rx-page-view="sent"');
    await page.waitForFunction('typeof window.rx === "object" && !Array.isArray(window.rx)');
    const events = tagMongoClient.db(tagMongo.database).collection('events');
    await expect
      .poll(() => events.countDocuments({ anonymousId: shopper }), { timeout: 20_000 })
      .toBeGreaterThan(0);
    await page.evaluate('rx.flush()');
    await page.waitForTimeout(1_500);
    // Consent on the first page had the plugin count that page's view (the worker had not: untracked
    // then); on the next one it sent no page view and no product view: the worker's is the one.
    const views = sent.filter((event) => event.type === 'page' || event.event === 'Product Viewed');
    expect(views).toEqual([
      { type: 'page', event: undefined, path: '/products/85123A' },
      { type: 'track', event: 'Product Viewed', path: '/products/85123A' },
    ]);
    expect(errors).toEqual([]);
  }, 90_000);
});
