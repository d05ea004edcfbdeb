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
import type { LiveAnswer, LiveArm, LiveCounting } from '../../contracts/live-api';
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

/** Counted a few seconds before the worker read the counts, nothing failing: current. */
const CURRENT: LiveCounting = {
  as_of: '2026-05-07T12:00:00.000Z',
  last_counted_at: '2026-05-07T11:59:55.000Z',
  problems: [],
};

const GOOD: LiveAnswer = {
  site: 'demo',
  from: '2026-05-01',
  to: '2026-05-07',
  holdout_percent: 10,
  days: [{ day: '2026-05-07', arms: { treatment: arm(5), holdout: arm(2) } }],
  total: { treatment: arm(5), holdout: arm(2) },
  counting: CURRENT,
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

    // The next refresh still comes: JSON that is not the answer, said there too; nothing of it shown
    // (before, the figures' section showed, with an empty header and tables).
    await tab.clock.runFor(REFRESH_MS);
    await tab.waitForSelector('#login-error:has-text("not the live counters\' answer: no site")');
    expect(reads).toBe(2);
    expect(await tab.isHidden('#live')).toBe(true);
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

    // After figures were shown, answers of the wrong shape: each is said, and the figures shown before
    // stay whole (the header with them: not "undefined (UTC), holdout undefined %" over the old tables).
    const shown = await screenText(tab);
    const wrong: Array<[unknown, string]> = [
      [{ site: 'x' }, 'no from'],
      [{ ...GOOD, site: 'other', holdout_percent: undefined }, 'no holdout_percent'],
      [
        { ...GOOD, site: 'other', days: [{ day: '2026-05-08', arms: { treatment: {}, holdout: {} } }] },
        'days[0].arms.treatment.browsers is not a number',
      ],
      [
        { ...GOOD, site: 'other', total: { ...GOOD.total, holdout: { ...arm(2), revenue: { GBP: '12' } } } },
        'total.holdout.revenue is not amounts per currency',
      ],
      [
        { ...GOOD, site: 'other', counting: { ...CURRENT, problems: 'none' } },
        'counting.problems is not a list of components',
      ],
    ];
    for (const [body, problem] of wrong) {
      answers.push({ contentType: 'application/json', body: JSON.stringify(body) });
      reads = answers.length - 1;
      await tab.clock.runFor(REFRESH_MS);
      const said = `The worker's answer could not be shown (not the live counters' answer: ${problem}); trying again.`;
      await statusIs(tab, said);
      expect(reads, problem).toBe(answers.length);
      expect({ ...(await screenText(tab)), status: '' }, problem).toEqual(shown);
      answers.pop();
    }
    expect(errors).toEqual([]);
  }, 60_000);

  it('a read that never answers is given up after 15 s, said, and tried again', async () => {
    let hang = false;
    const { tab, errors, reads } = await openScreen(() => (hang ? 'hang' : GOOD));
    await tab.fill('#token', 'the-token');
    await tab.click('button[type=submit]');
    await tab.waitForSelector('#updated:has-text("updated")');
    const shown = await screenText(tab);

    // The next read's connection hangs: before, the screen stayed as it was for good, reading no more.
    hang = true;
    await tab.clock.runFor(REFRESH_MS);
    await expect.poll(reads).toBe(2);
    await tab.clock.runFor(14_000);
    expect(await tab.textContent('#status')).toBe('');
    await tab.clock.runFor(1_000);
    await tab.waitForSelector('#status:has-text("The worker did not answer; trying again.")');
    expect(await screenText(tab)).toEqual({ ...shown, status: 'The worker did not answer; trying again.' });

    // And tried again at the next refresh, which answers.
    hang = false;
    await tab.clock.runFor(REFRESH_MS);
    await statusIs(tab, '');
    expect(reads()).toBe(3);
    expect(errors).toEqual([]);
  }, 60_000);

  it('says when no events were counted for a while, and which part counting needs is failing', async () => {
    let counting: LiveCounting = CURRENT;
    const { tab, errors } = await openScreen(() => ({ ...GOOD, counting }));
    await tab.fill('#token', 'the-token');
    await tab.click('button[type=submit]');
    await tab.waitForSelector('#updated:has-text("updated")');
    // Current: no warning, and when events were last counted beside the read's time.
    expect(await tab.textContent('#status')).toBe('');
    expect(await tab.textContent('#updated')).toMatch(/^updated .+ · events last counted 11:59 AM$/);

    const next = async (value: LiveCounting) => {
      counting = value;
      const before = await tab.textContent('#status');
      await tab.clock.runFor(REFRESH_MS);
      await tab.waitForFunction(
        `document.getElementById('status').textContent !== ${JSON.stringify(before)}`,
      );
      return tab.textContent('#status');
    };
    // A quiet shop and a stopped consumer look alike in the counts: said as what is known.
    expect(await next({ ...CURRENT, last_counted_at: '2026-05-07T11:40:00.000Z' })).toBe(
      "No events counted since 11:40 AM. A shop without visitors counts nothing; the worker's health checks show no failure of counting.",
    );
    expect(await tab.textContent('#updated')).toMatch(/ · events last counted 11:40 AM$/);
    // The day too when it was another day.
    expect(await next({ ...CURRENT, last_counted_at: '2026-05-05T09:15:00.000Z' })).toMatch(
      /^No events counted since May 5 9:15 AM\. /,
    );
    expect(await next({ ...CURRENT, last_counted_at: null })).toMatch(
      /^No events counted in the last 36 days\. /,
    );
    // A part failing: named, with what /healthz says of it.
    expect(
      await next({
        ...CURRENT,
        last_counted_at: '2026-05-07T11:40:00.000Z',
        problems: [
          { component: 'live_counters', status: 'degraded', detail: 'Network connection lost.' },
          {
            component: 'mongodb',
            status: 'degraded',
            detail: 'the last batch failed, none written since: …',
          },
        ],
      }),
    ).toBe(
      'Counting is failing: live_counters degraded (Network connection lost.); mongodb degraded (the last batch failed, none written since: …). No events counted since 11:40 AM.',
    );
    // Failing, though events were counted a moment ago: some may be missing.
    expect(
      await next({
        ...CURRENT,
        problems: [{ component: 'queue', status: 'degraded', detail: 'Queue unavailable' }],
      }),
    ).toBe('Counting may be missing events: queue degraded (Queue unavailable).');
    // And once all is well again, nothing.
    expect(await next(CURRENT)).toBe('');
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

/** What the screen shows: its header, message, time of the last update and every table's cells. */
async function screenText(tab: Page) {
  const cells = (id: string) =>
    tab.$$eval(`#${id} tbody tr`, (rows) =>
      rows.map((row) => [...row.children].map((cell) => cell.textContent)),
    );
  return {
    site: await tab.textContent('#site'),
    window: await tab.textContent('#window'),
    updated: await tab.textContent('#updated'),
    status: await tab.textContent('#status'),
    summary: await cells('summary'),
    perDay: await cells('per-day'),
    placements: await cells('placements'),
  };
}

/** Waits until the screen's status line says exactly `text`. */
async function statusIs(tab: Page, text: string): Promise<void> {
  await tab.waitForFunction(`document.getElementById('status').textContent === ${JSON.stringify(text)}`);
}

/**
 * The screen in a new tab, in US English and UTC whatever the machine's, with `/admin/live` answered by
 * `answer` (or, given a function, by what it returns at each read: `hang` is a read never answered);
 * `reads()` counts the reads that reached it, `tokens` holds their authorization headers, `errors` the
 * page's uncaught ones.
 */
async function openScreen(
  answer: LiveAnswer | (() => LiveAnswer | 'hang'),
): Promise<{ tab: Page; errors: Error[]; reads: () => number; tokens: string[] }> {
  const { page: tab, errors } = await browser.newPage();
  const cdp = await tab.context().newCDPSession(tab);
  await cdp.send('Emulation.setLocaleOverride', { locale: 'en-US' });
  await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'UTC' });
  await tab.clock.install();
  const tokens: string[] = [];
  await tab.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/admin/live/screen') {
      return route.fulfill({ status: 200, contentType: 'text/html', body: page });
    }
    if (url.pathname === '/admin/live') {
      tokens.push(route.request().headers().authorization ?? '');
      const reply = typeof answer === 'function' ? answer() : answer;
      // Never answered: the request stays open until the page gives it up.
      if (reply === 'hang') return;
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(reply) });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  await tab.goto(`${ORIGIN}/admin/live/screen`);
  return { tab, errors, reads: () => tokens.length, tokens };
}
