/**
 * Proxy mode with `RX_CONSENT=required`, end to end in real headless Chromium against the real local
 * stack (`startStack`, as `npm start`): the worker's rule (track only with the `rx_consent` cookie) and
 * the plugin's (`rx.consent(true)` sets it, `rx.consent(false)` deletes it) meet in one browser.
 */
import { MongoClient } from 'mongodb';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../scripts/dev/stack';
import { stackMongo } from '../support/test-mongo';
import { DESKTOP_CHROME_USER_AGENT, launchBrowser, type TestBrowser } from './plugin-browser';

let stack: Stack;
/** The stack's own local MongoDB, or a fresh database on RX_TEST_MONGODB_URI (test-mongo.ts). */
const testMongo = stackMongo();
let mongo: MongoClient;
let browser: TestBrowser;

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

const cookies = async () =>
  Object.fromEntries((await browser.context.cookies()).map((cookie) => [cookie.name, cookie.value]));

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
