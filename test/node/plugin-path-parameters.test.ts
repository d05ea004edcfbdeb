/**
 * The built rx.js in Chromium: what it sends of the page's address. Path parameters (`;jsessionid=…`,
 * which SAP Commerce/Hybris and other Java shops put into their URLs on a shopper's first visit) are a
 * session id, not the page: they are left out of `path`, `url` and `referrer`, each segment's, as the
 * query string and fragment are.
 */
import { describe, expect, it } from 'vitest';
import { api, browser, usePluginInChromium } from './plugin-in-chromium';

usePluginInChromium();

const SESSION = '9F1C2B7A0E4D5C6B8A9F0E1D2C3B4A59';
const POLL = { timeout: 10_000 } as const;

function shopPage(): string {
  return `<!doctype html><html><head><title>Heart holder</title>
<script src="${api.apiUrl}/rx.js" async data-site="demo"></script>
</head><body><main data-rx-view data-rx-product-id="85123A"><h1>Heart holder</h1></main></body></html>`;
}

describe('rx.js: path parameters', () => {
  it('sends path, url and referrer without `;…` path parameters, query or fragment', async () => {
    const { page, errors } = await browser.newPage();
    api.setPage(shopPage());
    // The shopper's first page (its address the next page's referrer), then the product page.
    await page.goto(`${api.shopUrl}/c;jsessionid=${SESSION}/mugs?q=1`);
    await page.waitForFunction("typeof window.rx.track === 'function'");
    await Promise.all([
      page.waitForURL(/\/products\//),
      page.evaluate(`location.assign('/products/85123A;jsessionid=${SESSION}?email=a%40b.example#top')`),
    ]);
    await page.waitForFunction("typeof window.rx.track === 'function'");
    // A single-page app's navigation to an address with parameters in two segments.
    await page.evaluate("history.pushState({}, '', '/de;lang=x/about;jsessionid=X')");
    await page.evaluate('new Promise((resolve) => setTimeout(resolve, 50)).then(() => rx.flush())');

    const pageEvent = (path: string) =>
      api.events.find((e) => e.type === 'page' && e.properties?.path === path);
    await expect.poll(() => pageEvent('/de/about') !== undefined, POLL).toBe(true);
    expect(pageEvent('/products/85123A')?.properties).toMatchObject({
      path: '/products/85123A',
      url: `${api.shopUrl}/products/85123A`,
      referrer: `${api.shopUrl}/c/mugs`,
    });
    expect(pageEvent('/products/85123A')?.context?.page).toMatchObject({
      path: '/products/85123A',
      url: `${api.shopUrl}/products/85123A`,
      referrer: `${api.shopUrl}/c/mugs`,
    });
    expect(pageEvent('/de/about')?.properties).toMatchObject({ url: `${api.shopUrl}/de/about` });
    const viewed = api.events.find((e) => e.type === 'track' && e.event === 'Product Viewed');
    expect(viewed?.context?.page).toMatchObject({
      path: expect.stringMatching(/^\/(c\/mugs|products\/85123A)$/),
    });
    const sent = JSON.stringify(api.events);
    expect(sent).not.toMatch(/jsessionid|9F1C2B7A|lang=x|email|q=1/);
    expect(errors).toEqual([]);
  });
});
