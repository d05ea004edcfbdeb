/**
 * A script-mode shop moving to proxy mode may keep its plugin tag on another host than the page's: the
 * worker's `*.workers.dev` address, or a hostname of its own for the worker
 * (`<script src="https://rx.shop-cdn.example/rx.js" data-site="...">`). Only a tag on the page's own
 * host was taken for the shop's, so such a page got the worker's tag too, and whichever ran first
 * configured the page: the shop's, without `data-consent="required"`, tracked before consent (cookie,
 * storage, events, the id sent to the API) and counted the page view the worker had sent once more.
 * Such a tag is now recognised by its path (`/rx.js`, `/rx.<hash>.js`) and its `data-site`.
 */
import { describe, expect, it, vi } from 'vitest';
import { browserHeaders, proxied, raw } from './proxy-helpers';
import { count } from './proxy-insertions';
import { testSource } from './proxy-test-source';

const PAGE =
  '<!doctype html><html><head><title>Shop</title></head><body>' +
  '<div data-rx-slot="recommendations" data-rx-placement="home"></div><p id="last">end</p></body></html>';

const INJECTED = '<script src="https://shop.example/rx.js"';

async function throughProxy(tag: string, cookie?: string, page = PAGE) {
  const html = page.replace('</head>', `${tag}</head>`);
  return proxied(
    raw(html, ['content-type: text/html; charset=utf-8']),
    cookie ? { headers: browserHeaders({ cookie }) } : {},
    { env: { RX_CONSENT: 'required', RX_HONOUR_GPC: 'true' }, deps: { source: () => testSource() } },
  );
}

describe("proxy: the shop's own plugin tag on another host", () => {
  it('is told the rules (consent, GPC, page view sent) and no second tag is injected', async () => {
    for (const src of [
      'https://rx.shop-cdn.example/rx.js',
      'https://rx-worker.shop.workers.dev/rx.js?v=3',
      'https://rx.shop-cdn.example/rx.0123456789ab.js',
      '//rx.shop-cdn.example/rx.js',
    ]) {
      const tag = `<script src="${src}" async data-site="shop"></script>`;
      // Before consent: the rules, no page view of the worker's.
      const pending = await throughProxy(tag);
      expect(pending.body, src).toContain(
        `<script src="${src}" async data-site="shop" data-consent="required" data-gpc=""></script>`,
      );
      expect(pending.body, src).not.toContain(INJECTED);
      expect(count(pending.body, '<script'), src).toBe(1);
      expect(pending.events, src).toEqual([]);

      // After consent: the worker sent the page view, and the tag says so.
      const consented = await throughProxy(tag, 'rx_consent=1');
      expect(consented.body, src).toContain(
        `<script src="${src}" async data-site="shop" data-rx-page-view="sent" data-consent="required" data-gpc=""></script>`,
      );
      expect(consented.body, src).not.toContain(INJECTED);
      expect(count(consented.body, '<script'), src).toBe(1);
      expect(consented.events, src).toHaveLength(1);
    }
  });

  it('with an http tag on an http page (a local stack on another host name) too', async () => {
    // proxied() requests https://shop.example; an http tag there is mixed content (below). Here the
    // rule itself, through the exported check the rewriter uses.
    const { isOwnPluginTag } = await import('../../worker/src/proxy/rewriter');
    const page = new URL('http://localhost:8787/products/1');
    expect(isOwnPluginTag('http://127.0.0.1:8787/rx.js', page, true)).toBe(true);
    expect(isOwnPluginTag('http://127.0.0.1:8787/rx.js', page, false)).toBe(false);
    expect(isOwnPluginTag('https://127.0.0.1:8787/rx.js', page, true)).toBe(true);
  });

  it('without data-site, or at another path, it is not ours: left alone, and ours is injected', async () => {
    for (const tag of [
      // Another product's rx.js (RxJS 4 on a CDN) carries no data-site.
      '<script src="https://rx.shop-cdn.example/rx.js" async></script>',
      '<script src="https://cdn.example/rx.js"></script>',
      // Not a path the worker serves the plugin at.
      '<script src="https://cdn.example/vendor/rx.js" data-site="shop"></script>',
      '<script src="https://cdn.example/rx.min.js" data-site="shop"></script>',
      '<script src="https://cdn.example/RX.js" data-site="shop"></script>',
      // Relative: resolves against the page's path or a <base href>, never the worker's root.
      '<script src="rx.js" data-site="shop"></script>',
      // http on an https page: mixed content the browser blocks, so it never runs.
      '<script src="http://rx.shop-cdn.example/rx.js" data-site="shop"></script>',
    ]) {
      const { body } = await throughProxy(tag, 'rx_consent=1');
      expect(body, tag).toContain(tag);
      expect(body, tag).toContain(
        '<script src="https://shop.example/rx.js" async data-rx-page-view="sent" data-consent="required" data-gpc></script>',
      );
      expect(count(body, '<script'), tag).toBe(2);
    }
  });

  it("under the page's Content-Security-Policy, its host's connect-src is the one that matters", async () => {
    // The plugin calls the API on the host it was loaded from: a policy allowing that host (and not
    // the page's) refuses nothing, and nothing is reported as refused.
    const csp =
      'content-security-policy: script-src https://rx.shop-cdn.example; connect-src https://rx.shop-cdn.example';
    const tag = '<script src="https://rx.shop-cdn.example/rx.js" async data-site="shop"></script>';
    const warn = vi.spyOn(console, 'warn');
    try {
      const { body } = await proxied(
        raw(PAGE.replace('</head>', `${tag}</head>`), ['content-type: text/html; charset=utf-8', csp]),
        { headers: browserHeaders({ cookie: 'rx_consent=1' }) },
        { env: { RX_CONSENT: 'required' }, deps: { source: () => testSource() } },
      );
      expect(count(body, '<script'), body).toBe(1);
      expect(body).toContain(
        '<script src="https://rx.shop-cdn.example/rx.js" async data-site="shop" data-rx-page-view="sent" data-consent="required"></script>',
      );
      const refusals = warn.mock.calls.filter((call) => String(call[0]).includes('proxy_csp_refused'));
      expect(refusals).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('inside <template> it never runs: ours is injected', async () => {
    const tag =
      '<template><script src="https://rx.shop-cdn.example/rx.js" data-site="shop"></script></template>';
    const { body } = await throughProxy(tag);
    expect(body).toContain(tag);
    expect(body).toContain(
      '<script src="https://shop.example/rx.js" async data-consent="required" data-gpc>',
    );
  });
});
