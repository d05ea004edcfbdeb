/**
 * Proxy mode under a shop's nonce-based Content-Security-Policy, in real headless Chromium against the
 * real local stack (`startStack`, as `npm start`) proxying the proxy tests' origin (`/csp-page`): the
 * browser itself judges the nonce the worker added to the header and put on its tags
 * (docs/proxy.md "Shops with a Content-Security-Policy").
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../scripts/dev/stack';
import { type ProxyOrigin, startProxyOrigin } from '../support/proxy-origin';
import { launchBrowser, type TestBrowser } from './plugin-browser';

let origin: ProxyOrigin;
let stack: Stack;
let browser: TestBrowser;

beforeAll(async () => {
  origin = await startProxyOrigin();
  stack = await startStack({
    // Every shopper treated, the demo bundle on (with ORIGIN_URL it is off), generous budgets: this
    // checks what the browser does with the page, not how fast it comes.
    workerVars: {
      ORIGIN_URL: origin.url,
      DEMO_BUNDLE: 'true',
      HOLDOUT_PERCENT: '0',
      PERSONALIZATION_BUDGET_MS: '5000',
      CACHE_BUDGET_MS: '5000',
    },
    readyTimeoutMs: 150_000,
  });
  browser = await launchBrowser({
    userAgent:
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await origin?.close();
}, 60_000);

/** Before any of the page's own script: every refusal the browser reports, by directive and URL. */
const RECORD_VIOLATIONS = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspViolations.push(event.effectiveDirective + ' ' + event.blockedURI);
});`;

/** Until the async plugin has run (its API object as `window.rx`) or been refused, or there is none. */
const PLUGIN_SETTLED = `typeof window.rx === 'object' || window.cspViolations.length > 0 ||
  !document.querySelector('script[src="/rx.js"]')`;

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

async function visit(page: Page, policy: string): Promise<Observed> {
  await page.addInitScript(RECORD_VIOLATIONS);
  const response = await page.goto(`${stack.workerUrl}/csp-page?csp=${encodeURIComponent(policy)}`);
  await page.waitForLoadState('load');
  await page.waitForFunction(PLUGIN_SETTLED, undefined, { timeout: 10_000 });
  const seen = (await page.evaluate(OBSERVE)) as Omit<Observed, 'header'>;
  return { ...seen, header: response?.headers()['content-security-policy'] ?? '' };
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
