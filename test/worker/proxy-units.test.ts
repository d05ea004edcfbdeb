import { describe, expect, it } from 'vitest';
import {
  MAX_SLOT_LIMIT,
  MAX_SLOT_PRODUCT_IDS,
  slotLimit,
  slotProductIds,
} from '../../contracts/slot-defaults';
import type { Env } from '../../worker/src/env';
import { isBot } from '../../worker/src/proxy/bots';
import { declaredCharset, sniffCharset } from '../../worker/src/proxy/charset-sniff';
import { isExcludedPath, parseProxyConfig } from '../../worker/src/proxy/config';
import { trackingAllowed } from '../../worker/src/proxy/consent';
import { Deadline } from '../../worker/src/proxy/deadline';
import { isPageRequest, rewritableHtml } from '../../worker/src/proxy/eligibility';
import {
  appendVary,
  rewriteLink,
  rewriteLocation,
  rewriteRefresh,
  rewriteSetCookie,
  shopperResponseHeaders,
} from '../../worker/src/proxy/headers';
import { asciiOnly, decodeEntities } from '../../worker/src/proxy/html-text';
import { parseOriginUrl } from '../../worker/src/proxy/origin-url';
import { pageContextFromUrl } from '../../worker/src/proxy/page-context';
import { PageSession, PREFETCH_LIMIT } from '../../worker/src/proxy/page-session';
import { isWorkerPath } from '../../worker/src/proxy/proxy';
import { selectorError, splitSelectorList } from '../../worker/src/proxy/selectors';
import { slotQuery } from '../../worker/src/proxy/slot-query';
import type { Recommendations } from '../../worker/src/proxy/source';
import { identifyShopper } from '../../worker/src/shopper';
import { testSource } from './proxy-test-source';

const env = (vars: Partial<Env>) =>
  ({ SITE_ID: 'test', ORIGIN_URL: 'https://origin.example', ...vars }) as Env;

describe('proxy config', () => {
  it('is off without ORIGIN_URL and refuses non-http origins by name', () => {
    expect(parseProxyConfig(env({ ORIGIN_URL: '' }))).toBeUndefined();
    expect(() => parseProxyConfig(env({ ORIGIN_URL: 'ftp://origin.example' }))).toThrow(
      'ORIGIN_URL must be an http(s) URL (like https://origin.shop.example), got ftp:',
    );
  });

  it('names what is wrong with an ORIGIN_URL without quoting its host (/healthz is public)', () => {
    const problem = (raw: string) => {
      try {
        parseOriginUrl(raw);
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };
    const accepts = 'ORIGIN_URL must be an http(s) URL (like https://origin.shop.example)';
    // No scheme: some parse as a URL whose "scheme" is the host name (`localhost:`), some do not parse.
    for (const raw of [
      'hidden-origin.example',
      'hidden-origin.example:8080/shop',
      'localhost:8787',
      '/shop',
    ]) {
      expect(problem(raw), raw).toBe(`${accepts}, got a value without http:// or https://`);
    }
    expect(problem('https://')).toBe(`${accepts}, got a value that is not a URL`);
    expect(problem('gopher://hidden-origin.example')).toBe(`${accepts}, got gopher:`);
    expect(problem(' https://origin.example/base ')).toBeUndefined();
    expect(parseOriginUrl('  ')).toBeUndefined();
  });

  it('names credentials in ORIGIN_URL, which fetch does not send, without quoting them', () => {
    const config = parseProxyConfig(env({ ORIGIN_URL: 'https://staging:s3cret-marker@origin.example' }));
    // Before: no problem at all, while the origin answered every page 401 and /healthz said ok.
    expect(config?.problems).toEqual([
      'ORIGIN_URL has a user name or password, which the worker does not send to the origin (fetch drops them): an origin behind Basic auth answers every page 401; protect it another way (a secret header it checks, Cloudflare Access) and take them out',
    ]);
    expect(JSON.stringify(config?.problems)).not.toContain('s3cret-marker');
    expect(parseProxyConfig(env({ ORIGIN_URL: 'https://origin.example' }))?.problems).toEqual([]);
  });

  it('names a query string in ORIGIN_URL, which each request replaces with its own, without quoting it', () => {
    const problem =
      "ORIGIN_URL has a query string, which the worker does not send: each request goes to the origin with the shopper's own query in its place; take it out (a store or language the origin needs goes in the origin's host name or path)";
    const config = parseProxyConfig(env({ ORIGIN_URL: 'https://origin.example/shop?store=uk-marker' }));
    // Before: no problem, while every page was asked for without `store=uk` and /healthz said ok.
    expect(config?.problems).toEqual([problem]);
    expect(JSON.stringify(config?.problems)).not.toContain('uk-marker');
    // A bare `?` asks for nothing; a fragment is never sent by anyone: neither is a problem.
    expect(parseProxyConfig(env({ ORIGIN_URL: 'https://origin.example/?' }))?.problems).toEqual([]);
    expect(parseProxyConfig(env({ ORIGIN_URL: 'https://origin.example/#top' }))?.problems).toEqual([]);
  });

  it('leaves out the selectors HTMLRewriter refuses, naming each, and keeps the rest of each list', () => {
    const config = parseProxyConfig(
      env({
        RX_SLOTS: JSON.stringify([
          { selector: '#recs', placement: 'home' },
          { selector: 'div[', placement: 'home' },
          { selector: '.heading, h2:hover', placement: 'product', position: 'after' },
          { selector: ' ', placement: 'cart' },
        ]),
        RX_PRICE_SELECTOR: '.money, ::bogus, .price[data-x="a,b"]',
        RX_PRODUCT_ID_SELECTOR: 'a >> b',
      }),
    );
    expect(config?.slots).toEqual([
      { selector: '#recs', placement: 'home', position: 'append', limit: 4 },
      { selector: '.heading', placement: 'product', position: 'after', limit: 4 },
    ]);
    expect(config?.priceSelector).toBe('.money, .price[data-x="a,b"]');
    expect(config?.productIdSelector).toBeUndefined();
    const accepts = 'must be a CSS selector HTMLRewriter supports';
    expect(config?.problems).toEqual([
      `RX_SLOTS[1.selector] ${accepts}, got "div[" (Unexpected end of selector)`,
      `RX_SLOTS[2.selector] ${accepts}, got "h2:hover" (Unsupported pseudo-class or pseudo-element in selector)`,
      `RX_SLOTS[3.selector] ${accepts}, got " " (The selector is empty)`,
      `RX_PRICE_SELECTOR ${accepts}, got "::bogus" (Unsupported pseudo-class or pseudo-element in selector)`,
      `RX_PRODUCT_ID_SELECTOR ${accepts}, got "a >> b" (Dangling combinator in selector)`,
    ]);
  });

  it('takes every selector HTMLRewriter supports, and refuses what it does not', () => {
    const supported = [
      'span.price',
      '#id',
      'div > span',
      'div span',
      '[data-price]',
      'a[href^="/products/"]',
      '[data-x="y" i]',
      '[data-x="y" s]',
      '[class~="price"]',
      '[lang|="en"]',
      '[href$=".html"]',
      '[href*="product"]',
      'li:nth-child(2)',
      'li:nth-child(2n+1)',
      'li:first-child',
      'li:nth-of-type(2)',
      'li:first-of-type',
      'li:not(.sold-out)',
      '*',
    ];
    for (const selector of supported) expect(selectorError(selector), selector).toBeUndefined();
    for (const selector of [
      'div[',
      '::bogus',
      'a >> b',
      ':hover',
      'li:last-child',
      'li:nth-last-child(1)',
      'li:last-of-type',
      'li:only-child',
      'p:empty',
      ':root',
      'div:is(p)',
      'p::before',
      'a + b',
      'a ~ b',
      'div:has(p)',
      'svg|rect',
      'span.price >',
    ]) {
      expect(selectorError(selector), selector).toEqual(expect.any(String));
    }
  });

  it('parses RX_SLOTS with defaults and names the field of a bad entry', () => {
    const ok = parseProxyConfig(env({ RX_SLOTS: '[{"selector":"#recs","placement":"home"}]' }));
    expect(ok?.slots).toEqual([{ selector: '#recs', placement: 'home', position: 'append', limit: 4 }]);
    const bad = parseProxyConfig(env({ RX_SLOTS: '[{"selector":"#recs","placement":"basket"}]' }));
    expect(bad?.slots).toEqual([]);
    expect(bad?.problems[0]).toMatch(/^RX_SLOTS\[0\.placement\]: /);
    const notList = parseProxyConfig(env({ RX_SLOTS: '{"selector":"#recs","placement":"home"}' }));
    expect(notList?.slots).toEqual([]);
    expect(notList?.problems).toEqual([
      'RX_SLOTS must be a JSON list of slots ([{"selector": …, "placement": …}]), got an object',
    ]);
    const budget = parseProxyConfig(env({ PERSONALIZATION_BUDGET_MS: 'soon' }));
    expect(budget?.budgetMs).toBe(50);
    expect(budget?.problems).toEqual([
      'PERSONALIZATION_BUDGET_MS must be a number of milliseconds >= 0, got "soon"',
    ]);
  });

  it('skips only the RX_SLOTS entries that are not valid, naming each of their problems', () => {
    const config = parseProxyConfig(
      env({
        RX_SLOTS: JSON.stringify([
          { selector: '#recs', placement: 'home' },
          { selector: '#basket', placement: 'basket' },
          { selector: '#more', placement: 'product', position: 'inside', limit: 9 },
          '#loose',
          { selector: '#cart', placement: 'cart', position: 'after', limit: 2, heading: '' },
          { selector: '#titled', placement: 'category', heading: 7 },
        ]),
      }),
    );
    expect(config?.slots).toEqual([
      { selector: '#recs', placement: 'home', position: 'append', limit: 4 },
      { selector: '#cart', placement: 'cart', position: 'after', limit: 2, heading: '' },
    ]);
    expect(config?.problems.map((problem) => problem.replace(/: .*/, ''))).toEqual([
      'RX_SLOTS[1.placement]',
      'RX_SLOTS[2.position]',
      'RX_SLOTS[3]',
      'RX_SLOTS[5.heading]',
    ]);
  });

  it('reads an RX_SLOTS limit as markup reads data-rx-limit, keeping the entry and naming what was used', () => {
    const limits: unknown[] = [30, '4', 0, ' 12 ', '30', -3, 4.5, 'abc', '7 items', null, true, '', 24, 1];
    const config = parseProxyConfig(
      env({
        RX_SLOTS: JSON.stringify(
          limits.map((limit, index) => ({ selector: `#s${index}`, placement: 'home', limit })),
        ),
      }),
    );
    expect(config?.slots.map((slot) => slot.limit)).toEqual([24, 4, 4, 12, 24, 4, 4, 4, 7, 4, 4, 4, 24, 1]);
    // The same values in markup: every entry shows the block a `data-rx-limit` of that text shows.
    expect(
      limits.map((limit) => slotLimit(typeof limit === 'string' ? limit : JSON.stringify(limit))),
    ).toEqual(config?.slots.map((slot) => slot.limit));
    expect(config?.problems).toEqual([
      'RX_SLOTS[0.limit]: 30 is above 24; 24 used',
      'RX_SLOTS[2.limit]: 0 is below 1; 4 used',
      'RX_SLOTS[4.limit]: "30" is above 24; 24 used',
      'RX_SLOTS[5.limit]: -3 is below 1; 4 used',
      'RX_SLOTS[6.limit]: 4.5 is not a whole number; 4 used',
      'RX_SLOTS[7.limit]: "abc" is not a number; 4 used',
      'RX_SLOTS[8.limit]: "7 items" is not a number; 7 used',
      'RX_SLOTS[9.limit]: null is not a number; 4 used',
      'RX_SLOTS[10.limit]: true is not a number; 4 used',
    ]);
    // A limit is no reason to name an entry skipped for something else.
    const skipped = parseProxyConfig(
      env({ RX_SLOTS: JSON.stringify([{ selector: '#x', placement: 'basket', limit: 99 }]) }),
    );
    expect(skipped?.slots).toEqual([]);
    expect(skipped?.problems.map((problem) => problem.replace(/: .*/, ''))).toEqual([
      'RX_SLOTS[0.placement]',
    ]);
  });

  it('parses RX_EXCLUDE_PATHS into whole-segment path prefixes and names a bad entry', () => {
    const config = parseProxyConfig(env({ RX_EXCLUDE_PATHS: ' /checkout/ , /account,checkout,/a b,/x* ' }));
    expect(config?.excludedPaths).toEqual(['/checkout', '/account']);
    expect(config?.problems).toEqual([
      'RX_EXCLUDE_PATHS: "checkout" is not a path prefix (like /checkout)',
      'RX_EXCLUDE_PATHS: "/a b" is not a path prefix (like /checkout)',
      'RX_EXCLUDE_PATHS: "/x*" is not a path prefix (like /checkout)',
    ]);
    const excluded = config?.excludedPaths ?? [];
    expect(isExcludedPath('/checkout', excluded)).toBe(true);
    expect(isExcludedPath('/checkout/payment', excluded)).toBe(true);
    expect(isExcludedPath('/checkouts', excluded)).toBe(false);
    expect(isExcludedPath('/products/checkout', excluded)).toBe(false);
    expect(isExcludedPath('/anything', ['/'])).toBe(true);
    // Spellings that lenient routers send to the same page are excluded too.
    for (const spelling of [
      '/Checkout/payment',
      '/%63heckout',
      '//checkout/payment',
      '/checkout;jsessionid=1/payment',
      '/products/../checkout',
      '/products/%2e%2e/checkout',
      // One invalid escape elsewhere in the path does not keep the others from being read.
      '/%63heckout/pay%zzment',
      '/%63heckout/payment/%ff',
      // A backslash is a slash to the URL parser (and to IIS): it must not make `checkout` a host.
      '/%5Ccheckout/payment',
      '/%5C%5Ccheckout',
    ]) {
      expect(isExcludedPath(spelling, excluded), spelling).toBe(true);
    }
    expect(isExcludedPath('/%E0%A4%A', excluded)).toBe(false);
    expect(parseProxyConfig(env({}))?.excludedPaths).toEqual([]);
  });

  it('matches prefixes written in any script against the percent-encoded paths browsers send', () => {
    const config = parseProxyConfig(env({ RX_EXCLUDE_PATHS: '/kasse/übersicht,/оформление,/%C3%A9tape' }));
    const excluded = config?.excludedPaths ?? [];
    expect(config?.problems).toEqual([]);
    const browserPath = (path: string) => new URL(path, 'https://shop.example').pathname;
    for (const path of [
      browserPath('/kasse/übersicht'),
      browserPath('/kasse/übersicht/zahlung'),
      browserPath('/KASSE/ÜBERSICHT'),
      browserPath('/Оформление/оплата'),
      browserPath('/étape/2'),
      '/%c3%a9tape',
      '/kasse/%C3%BCbersicht',
    ]) {
      expect(isExcludedPath(path, excluded), path).toBe(true);
    }
    expect(isExcludedPath(browserPath('/kasse/übersichten'), excluded)).toBe(false);
    expect(isExcludedPath(browserPath('/оформлениеx'), excluded)).toBe(false);
    expect(isExcludedPath('/kasse', excluded)).toBe(false);
  });
});

describe('proxy consent rules', () => {
  const page = (headers: Record<string, string>) => new Request('https://shop.example/', { headers });

  it('parses RX_CONSENT and RX_HONOUR_GPC, naming a bad value', () => {
    expect(parseProxyConfig(env({}))).toMatchObject({ consentRequired: false, honourGpc: false });
    expect(parseProxyConfig(env({ RX_CONSENT: 'Required', RX_HONOUR_GPC: 'true' }))).toMatchObject({
      consentRequired: true,
      honourGpc: true,
    });
    expect(parseProxyConfig(env({ RX_CONSENT: 'maybe' }))?.problems).toEqual([
      'RX_CONSENT must be one of required, not-required, got "maybe"',
    ]);
  });

  it('reads consent from the rx_consent cookie only, and lets GPC override it when honoured', () => {
    const required = { consentRequired: true, honourGpc: false };
    expect(trackingAllowed(page({}), required)).toBe(false);
    expect(trackingAllowed(page({ cookie: 'a=b; rx_consent=1' }), required)).toBe(true);
    expect(trackingAllowed(page({ cookie: 'rx_consent=0' }), required)).toBe(false);
    expect(trackingAllowed(page({ cookie: 'xrx_consent=1' }), required)).toBe(false);
    expect(trackingAllowed(page({}), { consentRequired: false, honourGpc: false })).toBe(true);
    const gpc = page({ cookie: 'rx_consent=1', 'sec-gpc': '1' });
    expect(trackingAllowed(gpc, { consentRequired: true, honourGpc: true })).toBe(false);
    expect(trackingAllowed(gpc, { consentRequired: false, honourGpc: false })).toBe(true);
  });
});

describe('request and response rules', () => {
  const request = (headers: Record<string, string>, method = 'GET') =>
    new Request('https://shop.example/', { method, headers });

  it('treats navigations as pages, and assets, ranges and posts not', () => {
    expect(isPageRequest(request({ accept: 'text/html,*/*' }))).toBe(true);
    expect(isPageRequest(request({ 'sec-fetch-dest': 'document', accept: '*/*' }))).toBe(true);
    expect(isPageRequest(request({ 'sec-fetch-dest': 'image', accept: 'image/avif,*/*' }))).toBe(false);
    expect(isPageRequest(request({ accept: 'text/html', range: 'bytes=0-10' }))).toBe(false);
    expect(isPageRequest(request({ accept: 'text/html' }, 'POST'))).toBe(false);
    // A script's fragment request from a browser without Sec-Fetch-* headers (jQuery, htmx).
    expect(
      isPageRequest(request({ accept: 'text/html, */*; q=0.01', 'x-requested-with': 'XMLHttpRequest' })),
    ).toBe(false);
    expect(isPageRequest(request({ accept: '*/*', 'hx-request': 'true' }))).toBe(false);
  });

  it('rewrites only 200 HTML in a charset and coding the rewriter can stream', () => {
    const html = (type: string, status = 200, coding?: string) =>
      rewritableHtml(
        new Response('x', {
          status,
          headers: { 'content-type': type, ...(coding ? { 'content-encoding': coding } : {}) },
        }),
      );
    expect(html('text/html; charset=UTF-8')).toEqual({ charset: 'utf-8' });
    expect(html('text/html')).toEqual({ charset: undefined });
    expect(html('text/html; charset="Shift_JIS"')).toEqual({ charset: 'shift_jis' });
    expect(html('text/html; charset=utf-16le')).toBeUndefined();
    expect(html('text/html', 404)).toBeUndefined();
    expect(html('application/json')).toBeUndefined();
    expect(html('text/html', 200, 'zstd')).toBeUndefined();
  });

  it('recognizes crawlers by user agent and by Cloudflare bot signals', () => {
    expect(isBot(request({ 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)' }))).toBe(true);
    expect(isBot(request({ 'user-agent': 'facebookexternalhit/1.1' }))).toBe(true);
    for (const agent of [
      'Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)',
      'Mozilla/5.0 (compatible; GoogleOther)',
      'FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot',
      'meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)',
    ]) {
      expect(isBot(request({ 'user-agent': agent })), agent).toBe(true);
    }
    expect(isBot(request({}))).toBe(true);
    expect(isBot(request({ 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605.1.15' }))).toBe(false);
    const scored = (score: number, verifiedBot = false) =>
      isBot(
        new Request('https://shop.example/', {
          headers: { 'user-agent': 'Mozilla/5.0 Chrome/126' },
          cf: { botManagement: { score, verifiedBot } },
        } as RequestInit),
      );
    expect(scored(3)).toBe(true);
    expect(scored(90)).toBe(false);
    expect(scored(90, true)).toBe(true);
  });

  it("takes shoppers in a browser named after a crawler's company for shoppers, and its crawlers for crawlers", () => {
    // Real shoppers: the DuckDuckGo browser, Pinterest's and Telegram's in-app browsers, the Yandex app,
    // WhatsApp's web view, a Cubot phone. Matched by the company's name, they got the crawler's page.
    for (const agent of [
      'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.106 Mobile DuckDuckGo/5 Safari/537.36',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 16_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Mobile/15E148 DuckDuckGo/7 Safari/605.1.15',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]',
      'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36 [Pinterest/Android]',
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 Telegram-Android/11.7.4 (Google Pixel 8; Android 14; SDK 34; HIGH)',
      'Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 YandexSearch/23.1.0.29 YandexSearchBrowser/23.1.0.29',
      'Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.105 Mobile Safari/537.36 WhatsApp/2.21.15.14',
      'Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    ]) {
      expect(isBot(request({ 'user-agent': agent })), agent).toBe(false);
    }
    for (const agent of [
      'DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)',
      'Mozilla/5.0 (compatible; DuckDuckGo-Favicons-Bot/1.0; +http://duckduckgo.com)',
      'Pinterest/0.2 (+https://www.pinterest.com/bot.html)',
      'Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)',
      'TelegramBot (like TwitterBot)',
      'Mozilla/5.0 (compatible; YandexImages/3.0; +http://yandex.com/bots)',
      'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
      'WhatsApp/2.23.20.0 A',
    ]) {
      expect(isBot(request({ 'user-agent': agent })), agent).toBe(true);
    }
  });

  it('keeps the worker paths for the worker', () => {
    for (const path of [
      '/v1',
      '/v1/recommendations',
      '/healthz',
      '/rx.js',
      '/rx.3f2a9c.js',
      // The admin API's paths it does not know stay its own (a 404), never the origin's with the token.
      '/admin/models',
      '/admin/models/2026-04-28.1',
      '/admin/live/screen',
    ]) {
      expect(isWorkerPath(path)).toBe(true);
    }
    for (const path of [
      '/',
      '/v10',
      '/rx.json',
      '/products/rx.js',
      '/admin',
      '/admin/orders',
      '/admin/modelsx',
    ]) {
      expect(isWorkerPath(path)).toBe(false);
    }
  });
});

describe("a page's own charset declaration (for a Content-Type without one)", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  /** A body that gives its first chunk at once, the rest once `release` is called (an origin still working). */
  const firstChunkThenHeld = (chunks: readonly string[]) => {
    let release = () => {};
    const rest = new Promise<void>((resolve) => {
      release = resolve;
    });
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (pulled > 0) await rest;
        const chunk = chunks[pulled++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(bytes(chunk));
      },
    });
    return { body, release };
  };

  it('reads <meta charset> and the http-equiv form, quoted or not, outside comments', () => {
    expect(declaredCharset(bytes('<!doctype html><head><meta charset="Windows-1252">'))).toBe('windows-1252');
    expect(declaredCharset(bytes("<meta charset='shift_jis'>"))).toBe('shift_jis');
    expect(
      declaredCharset(bytes('<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">')),
    ).toBe('iso-8859-1');
    expect(declaredCharset(bytes('<!-- <meta charset="koi8-r"> --><title>x</title>'))).toBeUndefined();
    expect(declaredCharset(bytes('<head><title>no declaration</title></head>'))).toBeUndefined();
  });

  it('a byte order mark first; UTF-16 named in ASCII markup is UTF-8, as browsers read it', () => {
    expect(
      declaredCharset(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('<meta charset="windows-1252">')])),
    ).toBe('utf-8');
    expect(declaredCharset(new Uint8Array([0xff, 0xfe, 0x3c, 0x00]))).toBe('utf-16');
    expect(declaredCharset(bytes('<meta charset="utf-16le">'))).toBe('utf-8');
  });

  it('looks only as far as browsers do: a declaration past the first 1024 bytes is none', () => {
    const late = `<head><title>${'x'.repeat(1100)}</title><meta charset="windows-1252">`;
    expect(declaredCharset(bytes(late))).toBeUndefined();
  });

  it('hands the whole body back, and stops reading once the head is over (an early-flushed head is not held)', async () => {
    const chunks = ['<html><head><title>t</title></head>', '<body>£', 'rest</body></html>'];
    // The origin sends its head, then works on the rest until released: sniffing must not wait for it.
    const { body, release } = firstChunkThenHeld(chunks);
    const sniffed = await sniffCharset(body, 10_000);
    expect(sniffed.charset).toBeUndefined();
    // Decided at the end of the head, not after the wait ran out (which would pass the page untouched).
    expect(sniffed.undecided).toBe(false);
    release();
    expect(await new Response(sniffed.body).text()).toBe(chunks.join(''));
  });

  it('gives up after its wait when the origin stalls mid-head, losing none of the page', async () => {
    // Part of a head (no charset, no end of head, under 1024 bytes), then the origin works on the rest.
    const chunks = [
      '<html><head><title>t</title><link rel="stylesheet" href="/a.css">',
      '</head><body>£</body>',
    ];
    const { body, release } = firstChunkThenHeld(chunks);
    // The rest is released only after the sniff has answered: a sniff that waited for it (as the old one
    // did) never answers, and the test's timeout fails it.
    const sniffed = await sniffCharset(body, 30);
    expect(sniffed.undecided).toBe(true);
    expect(sniffed.charset).toBeUndefined();
    // The read that was on its way when the wait ended is the page's next chunk, not lost.
    release();
    expect(await new Response(sniffed.body).text()).toBe(chunks.join(''));
  });
});

describe('header rewriting', () => {
  const origin = new URL('https://origin.example/shop/');
  const publicUrl = new URL('https://shop.example/cart');

  it('moves Locations on the origin host to the public host, keeping relative ones relative', () => {
    expect(rewriteLocation('https://origin.example/shop/cart?x=1#top', origin, publicUrl)).toBe(
      'https://shop.example/cart?x=1#top',
    );
    expect(rewriteLocation('/shop/login', origin, publicUrl)).toBe('/login');
    expect(rewriteLocation('https://pay.example/checkout', origin, publicUrl)).toBe(
      'https://pay.example/checkout',
    );
    // Relative to the request: the browser resolves them against the public URL (they used to be
    // resolved against ORIGIN_URL: `?page=2` from /collections/all became /?page=2).
    expect(rewriteLocation('?page=2', origin, publicUrl)).toBe('?page=2');
    expect(rewriteLocation('login', origin, publicUrl)).toBe('login');
    // The base path is stripped only as whole segments: /shopping is not /shop + "ping".
    expect(rewriteLocation('/shopping/x', origin, publicUrl)).toBe('/shopping/x');
    expect(rewriteLocation('https://origin.example/shop', origin, publicUrl)).toBe('https://shop.example/');
    // A path that would start `//` once the base is gone is another host to the browser: in full.
    expect(rewriteLocation('/shop//evil.example/', origin, publicUrl)).toBe(
      'https://shop.example//evil.example/',
    );
    expect(rewriteLocation('/a/..//evil.example/x?y', origin, publicUrl)).toBe(
      'https://shop.example//evil.example/x?y',
    );
  });

  it("leaves an origin URL outside ORIGIN_URL's base path as it is: no public URL serves it", () => {
    // The public `/other` is the origin's `/shop/other`: moved to the public host, a redirect to the
    // origin's `/other` (another app on the same host, its login) landed on a wrong page or a 404.
    expect(rewriteLocation('https://origin.example/other?x=1', origin, publicUrl)).toBe(
      'https://origin.example/other?x=1',
    );
    expect(rewriteLocation('//origin.example/other', origin, publicUrl)).toBe('//origin.example/other');
    // Whole segments, as the base is stripped: /shopping is not under /shop.
    expect(rewriteLocation('https://origin.example/shopping/x', origin, publicUrl)).toBe(
      'https://origin.example/shopping/x',
    );
    expect(rewriteLocation('https://origin.example/', origin, publicUrl)).toBe('https://origin.example/');
    // Dot segments are resolved first: this one leaves the base.
    expect(rewriteLocation('https://origin.example/shop/../other', origin, publicUrl)).toBe(
      'https://origin.example/shop/../other',
    );
    // Refresh, Content-Location and Link go the same way (shopperResponseHeaders).
    const response = new Response(null, {
      status: 302,
      headers: {
        location: 'https://origin.example/other',
        'content-location': 'https://origin.example/other/page',
        refresh: '0; url=https://origin.example/other',
        link: '<https://origin.example/other>; rel=canonical, <https://origin.example/shop/a>; rel=preload',
      },
    });
    const headers = shopperResponseHeaders(response, origin, publicUrl);
    expect(headers.get('location')).toBe('https://origin.example/other');
    expect(headers.get('content-location')).toBe('https://origin.example/other/page');
    expect(headers.get('refresh')).toBe('0; url=https://origin.example/other');
    expect(headers.get('link')).toBe(
      '<https://origin.example/other>; rel=canonical, <https://shop.example/a>; rel=preload',
    );
    // Without a base path every path on the origin is the worker's.
    const atRoot = new URL('https://origin.example');
    expect(rewriteLocation('https://origin.example/other', atRoot, publicUrl)).toBe(
      'https://shop.example/other',
    );
  });

  it("leaves the origin host on another port as it is: another site, not ORIGIN_URL's", () => {
    // The worker fetches only ORIGIN_URL's port: moved to the public host, `:8443/admin` would become
    // that port's `/admin`, another service's page. Links and refreshes go the same way (rewriteLocation).
    expect(rewriteLocation('https://origin.example:8443/admin', origin, publicUrl)).toBe(
      'https://origin.example:8443/admin',
    );
    expect(rewriteLink('<https://origin.example:8443/shop/a>; rel=preload', origin, publicUrl)).toBe(
      '<https://origin.example:8443/shop/a>; rel=preload',
    );
    const onPort = new URL('http://origin.example:8080/shop');
    expect(rewriteLocation('http://origin.example:8080/shop/cart', onPort, publicUrl)).toBe(
      'https://shop.example/cart',
    );
    expect(rewriteLocation('https://origin.example/shop/cart', onPort, publicUrl)).toBe(
      'https://origin.example/shop/cart',
    );
    // The same host by the other scheme, on that scheme's own port, is the origin: an app behind TLS
    // termination that writes `http://` links to itself.
    expect(rewriteLocation('http://origin.example/shop/cart', origin, publicUrl)).toBe(
      'https://shop.example/cart',
    );
  });

  it('rewrites the URL of a Refresh as a Location, keeping the delay and the way it was written', () => {
    const refresh = (value: string) => rewriteRefresh(value, origin, publicUrl);
    expect(refresh('0; url=https://origin.example/shop/cart?x=1')).toBe(
      '0; url=https://shop.example/cart?x=1',
    );
    expect(refresh('5;URL=https://origin.example/shop/a')).toBe('5;URL=https://shop.example/a');
    expect(refresh('0, url = "https://origin.example/shop/b" ')).toBe('0, url = "https://shop.example/b" ');
    expect(refresh("1; url='https://origin.example/shop/c'")).toBe("1; url='https://shop.example/c'");
    // Without `url=` (browsers take it), and with only whitespace after the delay.
    expect(refresh('0;https://origin.example/shop/d')).toBe('0;https://shop.example/d');
    expect(refresh('0 https://origin.example/shop/e')).toBe('0 https://shop.example/e');
    // A path from the root loses the base path, as a Location does; relative and other hosts stay.
    expect(refresh('0; url=/shop/login')).toBe('0; url=/login');
    expect(refresh('0; url=login')).toBe('0; url=login');
    expect(refresh('0; url=https://pay.example/x')).toBe('0; url=https://pay.example/x');
    // No URL (a reload), or nothing a browser reads as a refresh: as it came.
    expect(refresh('30')).toBe('30');
    expect(refresh('url=https://origin.example/shop/x')).toBe('url=https://origin.example/shop/x');
  });

  it('drops a cookie Domain naming the origin host, keeps one both hosts are under', () => {
    expect(rewriteSetCookie('a=1; Domain=origin.example; Path=/', origin, publicUrl)).toBe('a=1; Path=/');
    expect(rewriteSetCookie('a=1; domain=.ORIGIN.example', origin, publicUrl)).toBe('a=1');
    expect(rewriteSetCookie('a=1; Domain=example; Secure', origin, publicUrl)).toBe(
      'a=1; Domain=example; Secure',
    );
    // Whitespace around `=` is the same attribute to a browser (RFC 6265 §5.2).
    expect(rewriteSetCookie('a=1; Domain = origin.example; Path=/', origin, publicUrl)).toBe('a=1; Path=/');
    expect(rewriteSetCookie('a=1;domain= .origin.example ;Secure', origin, publicUrl)).toBe('a=1;Secure');
  });

  it('drops a cookie Domain the origin host is under and the public host is not', () => {
    // An origin on another domain (`origin.shop-backend.example`) whose app scopes its cookies to that
    // domain: the browser refuses such a cookie on shop.example, and the session is lost.
    const backend = new URL('https://origin.shop-backend.example');
    expect(rewriteSetCookie('sid=1; Domain=.shop-backend.example; Path=/', backend, publicUrl)).toBe(
      'sid=1; Path=/',
    );
    expect(rewriteSetCookie('sid=1; Domain=shop-backend.example', backend, publicUrl)).toBe('sid=1');
    // A domain both hosts are under keeps its scope (origin.shop.example and www.shop.example alike).
    const sibling = new URL('https://origin.shop.example');
    const www = new URL('https://www.shop.example/');
    expect(rewriteSetCookie('sid=1; Domain=.shop.example', sibling, www)).toBe('sid=1; Domain=.shop.example');
    // A domain the origin host is not under is not the origin's to rewrite: as it came.
    expect(rewriteSetCookie('sid=1; Domain=pay.example', backend, publicUrl)).toBe(
      'sid=1; Domain=pay.example',
    );
    // A suffix that is not a whole label is no parent domain.
    expect(rewriteSetCookie('sid=1; Domain=backend.example', backend, publicUrl)).toBe(
      'sid=1; Domain=backend.example',
    );
  });

  it("takes ORIGIN_URL's base path off a cookie Path by whole segments, as off a Location", () => {
    // Shoppers browse / and /cart: a cookie kept for /shop would never be sent back.
    expect(rewriteSetCookie('sid=1; Path=/shop', origin, publicUrl)).toBe('sid=1; Path=/');
    expect(rewriteSetCookie('sid=1; Path=/shop/; HttpOnly', origin, publicUrl)).toBe(
      'sid=1; Path=/; HttpOnly',
    );
    expect(rewriteSetCookie('cart=2; path = /shop/cart ; Secure', origin, publicUrl)).toBe(
      'cart=2; path = /cart ; Secure',
    );
    expect(rewriteSetCookie('a=1; Domain=origin.example; Path=/shop/cart', origin, publicUrl)).toBe(
      'a=1; Path=/cart',
    );
    // Not under the base: /shopping is not /shop + "ping"; other paths and non-paths stay.
    expect(rewriteSetCookie('a=1; Path=/shopping', origin, publicUrl)).toBe('a=1; Path=/shopping');
    expect(rewriteSetCookie('a=1; Path=/other/shop', origin, publicUrl)).toBe('a=1; Path=/other/shop');
    expect(rewriteSetCookie('a=1; Path=shop', origin, publicUrl)).toBe('a=1; Path=shop');
    // Without a base path nothing changes.
    expect(rewriteSetCookie('a=1; Path=/shop', new URL('https://origin.example'), publicUrl)).toBe(
      'a=1; Path=/shop',
    );
  });

  it('rewrites each link of a Link header as a Location, keeping its parameters', () => {
    const link = (value: string) => rewriteLink(value, origin, publicUrl);
    expect(link('<https://origin.example/shop/p/1>; rel="canonical"')).toBe(
      '<https://shop.example/p/1>; rel="canonical"',
    );
    expect(
      link(
        '<https://origin.example/shop/a.css>; rel=preload; as=style, </shop/b.js>;rel=preload;as=script, <c.png>; rel=preload; as=image',
      ),
    ).toBe(
      '<https://shop.example/a.css>; rel=preload; as=style, </b.js>;rel=preload;as=script, <c.png>; rel=preload; as=image',
    );
    // Other hosts stay; a `<` inside a quoted parameter is not a link; an unclosed one stays as it came.
    expect(link('<https://cdn.example/x.css>; rel=preload; title="<https://origin.example/shop/y>"')).toBe(
      '<https://cdn.example/x.css>; rel=preload; title="<https://origin.example/shop/y>"',
    );
    expect(link('<https://origin.example/shop/x')).toBe('<https://origin.example/shop/x');
  });

  it("adds to Vary after the origin's values, without repeating one, and not to Vary: *", () => {
    const vary = (value: string | null, names: string[]) => {
      const headers = new Headers(value === null ? {} : { vary: value });
      appendVary(headers, names);
      return headers.get('vary');
    };
    expect(vary(null, ['Cookie', 'Sec-GPC'])).toBe('Cookie, Sec-GPC');
    expect(vary('Accept-Encoding', ['Cookie'])).toBe('Accept-Encoding, Cookie');
    expect(vary('accept-encoding,cookie', ['Cookie', 'Sec-GPC'])).toBe('accept-encoding,cookie, Sec-GPC');
    expect(vary('*', ['Cookie'])).toBe('*');
    expect(vary('Origin', [])).toBe('Origin');
  });
});

describe('page context and slot queries', () => {
  it('guesses the placement from common storefront URLs', () => {
    const at = (path: string) => pageContextFromUrl(new URL(`https://shop.example${path}`));
    expect(at('/products/85123A')).toEqual({ placement: 'product', productId: '85123A' });
    expect(at('/product/herz-teelichthalter/')).toEqual({
      placement: 'product',
      productId: 'herz-teelichthalter',
    });
    expect(at('/collections/kitchen')).toEqual({ placement: 'category', category: 'kitchen' });
    expect(at('/cart')).toEqual({ placement: 'cart' });
    expect(at('/products/%E0%A4%A')).toEqual({ placement: 'home' });
    expect(at('/about')).toEqual({ placement: 'home' });
  });

  it("reads the same shapes under a locale prefix (Shopify Markets' /en-gb/, /fr/, WooCommerce/WPML's /de/)", () => {
    const at = (path: string) => pageContextFromUrl(new URL(`https://shop.example${path}`));
    expect(at('/en-gb/products/85123A')).toEqual({ placement: 'product', productId: '85123A' });
    expect(at('/fr/products/85123A/')).toEqual({ placement: 'product', productId: '85123A' });
    expect(at('/de-DE/collections/kitchen')).toEqual({ placement: 'category', category: 'kitchen' });
    expect(at('/zh-hant/product/herz')).toEqual({ placement: 'product', productId: 'herz' });
    expect(at('/en_GB/cart')).toEqual({ placement: 'cart' });
    // Only a locale: a longer first segment is a path of the shop's own, not a product page.
    expect(at('/sale/products/85123A')).toEqual({ placement: 'home' });
    expect(at('/en-gb/about')).toEqual({ placement: 'home' });
  });

  it('reads slot attributes, clamps limits and falls back to the page', () => {
    const attrs = (values: Record<string, string>) => ({
      getAttribute: (name: string) => values[name] ?? null,
    });
    const page = { placement: 'product' as const, productId: 'P1' };
    expect(
      slotQuery(
        attrs({ 'data-rx-placement': 'cart', 'data-rx-product-ids': 'a, b,,c', 'data-rx-limit': '500' }),
        page,
      ),
    ).toEqual({
      placement: 'cart',
      productId: 'P1',
      productIds: ['a', 'b', 'c'],
      limit: 24,
    });
    expect(slotQuery(attrs({ 'data-rx-placement': 'nonsense', 'data-rx-limit': '-3' }), page)).toEqual({
      placement: 'product',
      productId: 'P1',
      limit: 4,
    });
    // Spaces around an id or category are not part of it (as the API trims them); a blank one is absent.
    expect(
      slotQuery(attrs({ 'data-rx-product-id': ' P0 ', 'data-rx-category': ' Home & Garden ' }), page),
    ).toEqual({ placement: 'product', productId: 'P0', category: 'Home & Garden', limit: 4 });
    expect(
      slotQuery(attrs({ 'data-rx-product-id': '  ', 'data-rx-category': '' }), {
        ...page,
        category: 'Kitchen',
      }),
    ).toEqual({ placement: 'product', productId: 'P1', category: 'Kitchen', limit: 4 });
  });

  it('reads data-rx-limit and data-rx-product-ids the same way in both modes (contracts/slot-defaults.ts)', () => {
    // A whole number of at least 1, clamped to 24; anything else the default 4.
    const limits: [string | null | undefined, number][] = [
      ['3.5', 3],
      ['-3', 4],
      ['0', 4],
      [' 7 ', 7],
      ['+5', 5],
      ['7 items', 7],
      ['24', 24],
      ['30', 24],
      ['1'.repeat(400), 24],
      ['abc', 4],
      ['0x10', 4],
      ['', 4],
      [null, 4],
      [undefined, 4],
    ];
    for (const [raw, limit] of limits) expect(slotLimit(raw), String(raw)).toBe(limit);
    expect(MAX_SLOT_LIMIT).toBe(24);

    expect(slotProductIds(null)).toBeUndefined();
    expect(slotProductIds(undefined)).toBeUndefined();
    expect(slotProductIds('')).toBeUndefined();
    expect(slotProductIds(' , ,\t,')).toBeUndefined();
    expect(slotProductIds(' a ,b\t, ,c\n,')).toEqual(['a', 'b', 'c']);
    // Spaces inside an id stay (the API decides whether it takes it).
    expect(slotProductIds('a b , c')).toEqual(['a b', 'c']);
    const cart = Array.from({ length: 60 }, (_, i) => `P${i}`);
    expect(slotProductIds(cart.join(','))).toEqual(cart.slice(0, MAX_SLOT_PRODUCT_IDS));
    expect(MAX_SLOT_PRODUCT_IDS).toBe(50);
    // The one regex is split, trim and drop the empty ones, for any white space trim knows.
    const splitTrimmed = (raw: string) =>
      raw
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean)
        .slice(0, MAX_SLOT_PRODUCT_IDS);
    for (const raw of [
      'x',
      ',x,',
      '\u00a0a\u00a0,\ufeffb\u2028,\u3000',
      ' a\u200bb ,  c  d ,,,e',
      `${cart.join(' , ')} ,`,
      'é, ü ,日本',
    ]) {
      expect(slotProductIds(raw), JSON.stringify(raw)).toEqual(splitTrimmed(raw));
    }
  });
});

describe('selector lists', () => {
  it('splits on top-level commas only', () => {
    expect(splitSelectorList('span.price, .money[data-x="a,b"] , :is(a, b)')).toEqual([
      'span.price',
      '.money[data-x="a,b"]',
      ':is(a, b)',
    ]);
    expect(splitSelectorList(undefined)).toEqual([]);
  });

  it('keeps brackets and commas inside quotes or after a backslash as they are', () => {
    // A bracket in a quoted value used to open a level that never closed, swallowing the next part.
    expect(splitSelectorList('[data-x="a(b"], .price, [data-y=\'],\'], .a\\,b, .c')).toEqual([
      '[data-x="a(b"]',
      '.price',
      "[data-y='],']",
      '.a\\,b',
      '.c',
    ]);
  });
});

describe('html text helpers', () => {
  it('decodes the references price texts use and writes non-ASCII as references', () => {
    expect(decodeEntities('&pound;2.55 &amp; 2,55&nbsp;&euro; &#163; &#xA3; &bogus;')).toBe(
      '£2.55 & 2,55\u00a0€ £ £ &bogus;',
    );
    // Names of Object's own members are no references: they stay text.
    expect(decodeEntities('&constructor; &toString; &__proto__;2.55')).toBe(
      '&constructor; &toString; &__proto__;2.55',
    );
    expect(asciiOnly('Café £2 😀')).toBe('Caf&#xe9; &#xa3;2 &#x1f600;');
  });
});

describe('page session: settled recommendations (the slot handler finishes synchronously with them)', () => {
  const context = { placement: 'product' as const, productId: '85123A' };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  it('are there only once the prefetch and the prices of the items it shows have arrived', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const session = new PageSession(testSource({ priceFactor: 0.5, gate }), new Deadline(), context);
    session.prefetch();
    const query = { ...context, limit: 4 };
    expect(session.settledRecommendations(query)).toBeUndefined();
    open();
    await settle();
    const settled = session.settledRecommendations(query)?.value;
    // Exactly what the waiting path gives: trimmed to the slot's limit, at the shopper's prices.
    expect(settled).toEqual(await session.recommendations(query));
    expect(settled?.items).toHaveLength(4);
    const ids = (settled?.items ?? []).map((item) => item.product_id);
    const quotes = await testSource({ priceFactor: 0.5 }).prices(ids);
    expect(settled?.items.map((item) => item.price)).toEqual(quotes.map((quote) => quote.price));
    expect(quotes.some((quote) => quote.price !== quote.base_price)).toBe(true);
  });

  it('are not there for a query the page has not fetched, or for more items than were fetched', async () => {
    const session = new PageSession(testSource(), new Deadline(), context);
    session.prefetch();
    await settle();
    expect(session.settledRecommendations({ placement: 'home', limit: 4 })).toBeUndefined();
    expect(session.settledRecommendations({ ...context, limit: PREFETCH_LIMIT + 1 })).toBeUndefined();
    expect(session.settledRecommendations({ ...context, limit: PREFETCH_LIMIT })?.value?.items).toHaveLength(
      PREFETCH_LIMIT,
    );
  });

  it('wait for prices that are still on their way', async () => {
    // Prices come when the test lets them (recommendations at once): no clock to outwait.
    let deliverPrices: () => void = () => {};
    const pricesHeld = new Promise<void>((resolve) => {
      deliverPrices = resolve;
    });
    const source = testSource();
    const prices = source.prices.bind(source);
    const asked: string[] = [];
    source.prices = async (ids) => {
      asked.push(...ids);
      await pricesHeld;
      return prices(ids);
    };
    const session = new PageSession(source, new Deadline(), context);
    session.prefetch();
    await settle();
    // The recommendations are in and their items' prices asked for, not answered yet.
    const items = (await source.recommend({ ...context, limit: 4 })).items.map((item) => item.product_id);
    expect(asked).toEqual(expect.arrayContaining(items));
    expect(session.settledRecommendations({ ...context, limit: 4 })).toBeUndefined();
    deliverPrices();
    await settle();
    expect(session.settledRecommendations({ ...context, limit: 4 })?.value?.items).toHaveLength(4);
  });
});

describe('page session: past the deadline (the page streams on as the shop sent it)', () => {
  const context = { placement: 'product' as const, productId: '85123A' };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const gated = () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { gate, open };
  };

  it('starts no lookup for a slot or a price reached after it: its answer could not be used', async () => {
    const source = testSource({ priceFactor: 0.5 });
    const deadline = new Deadline();
    const session = new PageSession(source, deadline, context);
    deadline.expire();
    expect(await session.recommendations({ placement: 'home', limit: 4 })).toBeUndefined();
    expect(await session.price('85123A')).toBeUndefined();
    await settle();
    // Before: a recommendation lookup (a model inference) and a price lookup per late slot and price.
    expect(source.recommendCalls).toBe(0);
    expect(source.priceCalls).toEqual([]);
  });

  it('prices nothing of recommendations that arrive after it', async () => {
    const { gate, open } = gated();
    const source = testSource({ gate });
    const deadline = new Deadline();
    // A home page: the prefetch asks no price of its own.
    const session = new PageSession(source, deadline, { placement: 'home' });
    session.prefetch();
    deadline.expire();
    open();
    await settle();
    expect(source.recommendCalls).toBe(1);
    expect(source.priceCalls).toEqual([]);
  });

  it("asks no fetch of a slot's own when the longer fetch it waited on arrives after it", async () => {
    const { gate, open } = gated();
    const source = testSource({ gate });
    const recommend = source.recommend.bind(source);
    // Without families the prefetch's row cannot tell a 4-item slot's (cut), so the slot needs its own.
    source.recommend = async (query) => {
      const { families: _families, ...answer }: Recommendations & { families?: unknown } =
        await recommend(query);
      return answer;
    };
    const deadline = new Deadline();
    const session = new PageSession(source, deadline, context);
    session.prefetch();
    const waiting = session.recommendations({ ...context, limit: 4 });
    deadline.expire();
    expect(await waiting).toBeUndefined();
    open();
    await settle();
    expect(source.recommendCalls).toBe(1);
  });
});

describe('who a proxied page is for', () => {
  it("is never named by the shop page's own ?user_id= (any link could then show and feed someone's history)", async () => {
    const env = {
      SITE_ID: 'test',
      HOLDOUT_PERCENT: '0',
      USER_HASH_KEY: 'test-user-hash-key-0123456789abcdef',
    };
    const page = await identifyShopper(new Request('https://shop.example/products/P1?user_id=alice'), env);
    expect(page.userId).toBeUndefined();
    expect(page.userHash).toBe(page.anonymousHash);
    // What the API routes pass after validating their query or header still names the shopper.
    const api = await identifyShopper(new Request('https://rx.test/v1/recommendations'), env, {
      userId: 'alice',
    });
    expect(api.userId).toBe('alice');
    expect(api.userHash).not.toBe(api.anonymousHash);
  });
});
