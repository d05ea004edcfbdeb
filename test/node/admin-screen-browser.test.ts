/**
 * The live screen (admin-screen/src/live-screen.ts) in Chromium against answers this test makes up,
 * without a worker: the page is the worker's own (worker/src/live/screen-page.ts) with the script built
 * from the source now (admin-screen/build.ts), and `/admin/live` is answered by the test. The page's
 * timers run on Playwright's clock, so a 10 s refresh is a step of the test, not a wait. The screen
 * against the real worker is in e2e-stack.test.ts.
 */

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScreen } from '../../admin-screen/build';
import type { LiveAnswer, LiveArm } from '../../contracts/live-api';
import { SCREEN_CSS, SCREEN_JS } from '../../worker/src/live/screen-bundle.generated';
import { SCREEN_HTML } from '../../worker/src/live/screen-page';
import { assertChromium, launchBrowser, type TestBrowser } from './plugin-browser';

const ORIGIN = 'http://screen.test';
const REFRESH_MS = 10_000;

function arm(browsers: number): LiveArm {
  return {
    browsers,
    buyers: 1,
    conversion_rate: 1 / browsers,
    events: 10,
    impressions: 4,
    clicks: 1,
    click_through_rate: 0.25,
    orders: 1,
    unpriced_orders: 0,
    revenue: { GBP: 12.5 },
    revenue_per_browser: { GBP: 12.5 / browsers },
    placements: { product: { impressions: 4, clicks: 1 } },
  };
}

const GOOD: LiveAnswer = {
  site: 'demo',
  from: '2026-05-01',
  to: '2026-05-07',
  holdout_percent: 10,
  days: [{ day: '2026-05-07', arms: { treatment: arm(5), holdout: arm(2) } }],
  total: { treatment: arm(5), holdout: arm(2) },
};

let browser: TestBrowser;
let page: string;

beforeAll(async () => {
  assertChromium();
  const { js, css } = await buildScreen();
  page = SCREEN_HTML.replace(SCREEN_JS, () => js).replace(SCREEN_CSS, () => css);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('the live screen', () => {
  it('says so when a 200 answer cannot be shown, and keeps refreshing until one can', async () => {
    const { page: tab, errors } = await browser.newPage();
    await tab.clock.install();
    // Each read of /admin/live gets the next of these: a 200 that is not JSON (a proxy's page), a 200
    // that is JSON but not the API's answer (rendering it throws), then the answer.
    const answers = [
      { contentType: 'text/html', body: '<html><body>Sign in to the network</body></html>' },
      { contentType: 'application/json', body: '{}' },
      { contentType: 'application/json', body: JSON.stringify(GOOD) },
    ];
    let reads = 0;
    await tab.route(`${ORIGIN}/**`, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname === '/admin/live/screen') {
        return route.fulfill({ status: 200, contentType: 'text/html', body: page });
      }
      if (url.pathname === '/admin/live') {
        expect(route.request().headers().authorization).toBe('Bearer the-token');
        const answer = answers[Math.min(reads++, answers.length - 1)];
        return route.fulfill({ status: 200, ...answer });
      }
      return route.fulfill({ status: 404, body: '' });
    });
    await tab.goto(`${ORIGIN}/admin/live/screen`);
    await tab.fill('#token', 'the-token');
    await tab.click('button[type=submit]');

    // Not JSON, before any figures were shown: said under the token field.
    await tab.waitForSelector('#login-error:has-text("could not be shown")');
    expect(await tab.isHidden('#live')).toBe(true);
    expect(reads).toBe(1);

    // The next refresh still comes: JSON that is not the answer, with the figures' section showing.
    await tab.clock.runFor(REFRESH_MS);
    await tab.waitForSelector('#status:has-text("could not be shown")');
    expect(reads).toBe(2);
    expect(await tab.textContent('#updated')).toBe('');

    // And the one after: the figures, and no message left over.
    await tab.clock.runFor(REFRESH_MS);
    await tab.waitForSelector('#updated:has-text("updated")');
    expect(reads).toBe(3);
    expect(await tab.textContent('#site')).toBe('demo');
    expect(await tab.textContent('#status')).toBe('');
    expect(await tab.textContent('#login-error')).toBe('');
    expect(
      await tab.$$eval('#placements tbody th', (cells) => cells.map((cell) => cell.textContent)),
    ).toEqual(['product']);
    expect(errors).toEqual([]);
  }, 60_000);

  it('shows money in its currency, and no difference against a holdout at or below zero', async () => {
    // Per browser: GBP 1.00 against −5.00 (the holdout's refunds outweigh its sales), JPY 1,500 against
    // 1,000, KWD −0.010 against 0.020 (the personalized arm's refunds), and "???" (no currency Intl
    // knows) 0.03 against 0.02.
    const revenue = (arm: LiveArm, byCurrency: Record<string, number>): LiveArm => ({
      ...arm,
      revenue: byCurrency,
      revenue_per_browser: Object.fromEntries(
        Object.entries(byCurrency).map(([currency, amount]) => [currency, amount / arm.browsers]),
      ),
    });
    const treatment = revenue(arm(100), { GBP: 100, JPY: 150_000, KWD: -1, '???': 3 });
    const holdout = revenue(arm(10), { GBP: -50, JPY: 10_000, KWD: 0.2, '???': 0.2 });
    const { tab, errors, reads } = await openScreen({
      ...GOOD,
      days: [{ day: '2026-05-07', arms: { treatment, holdout } }],
      total: { treatment, holdout },
    });
    await tab.fill('#token', 'the-token');
    await tab.click('button[type=submit]');
    await tab.waitForSelector('#updated:has-text("updated")');
    expect(reads()).toBe(1);
    const rows = await tab.$$eval('#summary tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((cell) => cell.textContent?.replace(/\u00a0/g, ' '))),
    );
    expect(rows.filter(([name]) => name?.startsWith('Revenue'))).toEqual([
      ['Revenue (???)', '3.00', '0.20', ''],
      ['Revenue per browser (???)', '0.03', '0.02', '+50%'],
      ['Revenue (GBP)', '£100.00', '-£50.00', ''],
      ['Revenue per browser (GBP)', '£1.00', '-£5.00', ''],
      ['Revenue (JPY)', '¥150,000', '¥10,000', ''],
      ['Revenue per browser (JPY)', '¥1,500', '¥1,000', '+50%'],
      ['Revenue (KWD)', '-KWD 1.000', 'KWD 0.200', ''],
      ['Revenue per browser (KWD)', '-KWD 0.010', 'KWD 0.020', ''],
    ]);
    expect(errors).toEqual([]);
  }, 60_000);

  it('takes a token out of typographic quotes, and refuses one a header cannot carry without trying', async () => {
    const { tab, errors, reads, tokens } = await openScreen(GOOD);
    await tab.fill('#token', '\u2018abc123\u2019');
    await tab.click('button[type=submit]');
    await tab.waitForSelector('#updated:has-text("updated")');
    await tab.click('#forget');
    await tab.fill('#token', '\u201cabc123\u201d');
    await tab.click('button[type=submit]');
    await tab.waitForSelector('#updated:has-text("updated")');
    expect(tokens).toEqual(['Bearer abc123', 'Bearer abc123']);

    await tab.click('#forget');
    for (const token of ['\u201cabc123', 'abc\u00e9123', 'abc\u2013123']) {
      await tab.fill('#token', token);
      await tab.click('button[type=submit]');
      await tab.waitForSelector('#login-error:has-text("paste it again as plain text")');
      await tab.clock.runFor(3 * REFRESH_MS);
      // Not tried: no read, and no "did not answer" every 10 s in place of the refusal.
      expect(await tab.textContent('#login-error')).toMatch(/^That token has a character no token has/);
      expect(reads()).toBe(2);
      expect(await tab.isHidden('#live')).toBe(true);
      expect(await tab.inputValue('#token')).toBe('');
    }
    expect(errors).toEqual([]);
  }, 60_000);
});

/**
 * The screen in a new tab, in US English whatever the machine's locale, with `/admin/live` answered by
 * `answer`; `reads()` counts the reads that reached it, `tokens` holds their authorization headers,
 * `errors` the page's uncaught ones.
 */
async function openScreen(
  answer: LiveAnswer,
): Promise<{ tab: Page; errors: Error[]; reads: () => number; tokens: string[] }> {
  const { page: tab, errors } = await browser.newPage();
  const cdp = await tab.context().newCDPSession(tab);
  await cdp.send('Emulation.setLocaleOverride', { locale: 'en-US' });
  await tab.clock.install();
  const tokens: string[] = [];
  await tab.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/admin/live/screen') {
      return route.fulfill({ status: 200, contentType: 'text/html', body: page });
    }
    if (url.pathname === '/admin/live') {
      tokens.push(route.request().headers().authorization ?? '');
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(answer) });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  await tab.goto(`${ORIGIN}/admin/live/screen`);
  return { tab, errors, reads: () => tokens.length, tokens };
}
