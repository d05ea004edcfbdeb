/**
 * A page the browser prerenders (speculation rules) in real headless Chromium: its page view and product
 * view wait until the shopper opens it. Playwright cannot show this: a page it drives starts the prerender
 * (the request goes out) but the prerendered document never runs, so this test starts Chromium itself
 * and reads what happened from the recording API. (plugin-behaviour.test.ts checks the same rule with
 * `document.prerendering` stood in for, in every run; this one checks it against the browser's own.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../storefront-plugin/build';
import { assertChromium, CHROMIUM_PATH } from './plugin-browser';
import { type FixtureApi, startFixtureApi } from './plugin-fixture-api';

let api: FixtureApi;
let chromium: ChildProcess | undefined;
let profile: string | undefined;

beforeAll(async () => {
  assertChromium();
  api = await startFixtureApi((await buildPlugin()).iife.code);
});

afterAll(async () => {
  // Gone before its profile is removed (a browser still writing there would leave it behind).
  if (chromium && chromium.exitCode === null && chromium.signalCode === null) {
    const exited = new Promise((resolve) => chromium?.once('exit', resolve));
    chromium.kill('SIGTERM');
    await exited;
  }
  await api?.close();
  if (profile) await rm(profile, { recursive: true, force: true, maxRetries: 3 });
});

/**
 * The shop's page, the same at every path: the home page (`/`) prerenders `/products/P9` and opens it
 * (a click would) after `openAfterMs`. Every document says, to the API's record, that it ran and
 * whether it was prerendering then (`/ran`), and when it was activated (`/activated`).
 */
function shopPage(openAfterMs: number): string {
  return `<!doctype html><html><head><title>Shop</title>
<script>
  const note = (what) => fetch('${api.apiUrl}/' + what + '?path=' + location.pathname + '&prerendering=' + document.prerendering, { mode: 'no-cors' });
  note('ran');
  document.addEventListener('prerenderingchange', () => note('activated'));
  if (location.pathname === '/') setTimeout(() => { location.href = '/products/P9'; }, ${openAfterMs});
</script>
<script src="${api.apiUrl}/rx.js" async data-site="demo"></script>
<script type="speculationrules">{"prerender":[{"source":"list","urls":["/products/P9"]}]}</script>
</head><body><main data-rx-view data-rx-product-id="P9"><h1>Product</h1></main></body></html>`;
}

const noted = (what: string) => api.requests.filter((r) => r.path.startsWith(`/${what}?`)).map((r) => r.path);
const eventsAt = (pagePath: string) =>
  api.events
    .filter((e) => (e.context?.page as { path?: string } | undefined)?.path === pagePath)
    .map((e) => (e.type === 'track' ? e.event : e.type));

describe('rx.js in a page Chromium prerenders', () => {
  it('sends no page view or product view until the prerendered page is opened', async () => {
    // Well past the plugin's batch timer (5 s): what the pages recorded by then has been sent.
    const openAfterMs = 12_000;
    api.setPage(shopPage(openAfterMs));
    profile = await mkdtemp(path.join(os.tmpdir(), 'rx-prerender-'));
    chromium = spawn(
      CHROMIUM_PATH,
      [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        `${api.shopUrl}/`,
      ],
      { stdio: 'ignore' },
    );

    // The prerendered document runs (its own note says so) while the home page is still shown.
    await expect
      .poll(() => noted('ran'), { timeout: 15_000 })
      .toContain('/ran?path=/products/P9&prerendering=true');
    // The home page's events arrive with its batch, about 5 s in; the prerendered page sends none.
    await expect.poll(() => eventsAt('/'), { timeout: 10_000 }).toContain('Product Viewed');
    expect(eventsAt('/products/P9')).toEqual([]);
    expect(noted('activated')).toEqual([]);

    // Opened: activated, and its page view and product view sent.
    await expect
      .poll(() => noted('activated'), { timeout: 15_000 })
      .toEqual(['/activated?path=/products/P9&prerendering=false']);
    await expect
      .poll(() => eventsAt('/products/P9').sort(), { timeout: 10_000 })
      .toEqual(['Product Viewed', 'page']);
  }, 60_000);
});
