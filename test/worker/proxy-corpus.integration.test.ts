/**
 * The storefront corpus (test/fixtures/storefronts, sources in its README): every page, proxied
 * and personalized, must come out as the origin sent it except for the proxy's own insertions.
 */
import { describe, expect, it } from 'vitest';
import { ORIGIN, proxied } from './proxy-helpers';
import { count, withoutInsertions } from './proxy-insertions';
import { productById, testSource } from './proxy-test-source';

/** Fixture → how many recommendation blocks the proxy must insert (data-rx-slot elements outside raw text). */
const CORPUS: Record<string, number> = {
  'demo-home.html': 1,
  'demo-product.html': 1,
  'demo-category.html': 1,
  'shopify-dawn-product.html': 0,
  'woocommerce-storefront-shop.html': 0,
  'extruct-product-microdata.html': 0,
  // The slot inside <template> is inert content and stays empty; the one in <noscript> is raw text.
  'template-noscript.html': 1,
  'malformed.html': 1,
  // The demo product page with the shop's own rx.js tag (script mode, also proxied).
  'demo-product-script-mode.html': 1,
};

/** A filled slot's fallback content is replaced by the block: the one other intended change. */
const REPLACED_FALLBACK: Record<string, string> = {
  'template-noscript.html': '<p>Our best sellers</p>',
};

async function originBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await fetch(`${ORIGIN()}${path}`)).arrayBuffer());
}

/** Each inserted block is balanced markup (tags open and close in order). */
function expectBalancedBlocks(html: string): void {
  for (const block of html.match(/<section class="rx-block[\s\S]*?<\/section>/g) ?? []) {
    const stack: string[] = [];
    for (const [, closing, name] of block.matchAll(/<(\/?)([a-z0-9]+)[^>]*>/g)) {
      if (name === 'img') continue;
      if (closing) expect(stack.pop()).toBe(name);
      else stack.push(name ?? '');
    }
    expect(stack).toEqual([]);
  }
}

describe('proxy: storefront corpus', () => {
  it('the demo pages have the slots the table expects', async () => {
    for (const name of ['demo-home.html', 'demo-category.html']) {
      const html = new TextDecoder().decode(await originBytes(`/fixtures/${name}`));
      expect(count(html, 'data-rx-slot=')).toBe(CORPUS[name]);
    }
  });

  for (const [name, blocks] of Object.entries(CORPUS)) {
    for (const encoding of ['identity', 'gzip', 'br']) {
      it(`${name} (${encoding}): only the intended changes`, async () => {
        const path = `/fixtures/${name}${encoding === 'identity' ? '' : `?encoding=${encoding}`}`;
        const { response, body } = await proxied(path, {}, { deps: { source: () => testSource() } });
        const fallback = REPLACED_FALLBACK[name];
        const served = new TextDecoder().decode(await originBytes(`/fixtures/${name}`));
        const original = fallback ? served.replace(fallback, '') : served;
        expect(response.status).toBe(200);
        expect(withoutInsertions(body)).toBe(original);
        expect(count(body, '<section class="rx-block')).toBe(blocks);
        // One plugin tag: ours (absolute on the public host), or the shop's own (`/rx.js`) instead.
        expect(count(body, '/rx.js"')).toBe(1);
        expect(response.headers.get('content-encoding')).toBe(encoding === 'identity' ? null : encoding);
        expectBalancedBlocks(body);
      });
    }
  }

  it("marks the shop's own rx.js tag as having had its page view sent, and injects no second tag", async () => {
    const { body, events } = await proxied(
      '/fixtures/demo-product-script-mode.html',
      {},
      {
        deps: { source: () => testSource() },
      },
    );
    expect(count(body, 'rx.js')).toBe(1);
    expect(body).toContain('<script src="/rx.js" async data-site="demo" data-rx-page-view="sent"></script>');
    expect(events).toHaveLength(1);
  });

  it('leaves slot-like text in <textarea>, <script>, comments and JSON alone', async () => {
    const { body } = await proxied(
      '/fixtures/template-noscript.html',
      {},
      { deps: { source: () => testSource() } },
    );
    expect(body).toContain('<textarea><div data-rx-slot="recommendations"></div></textarea>');
    expect(body).toContain(`document.write('<div data-rx-slot="recommendations"></div>');`);
    const malformed = await proxied('/fixtures/malformed.html', {}, { deps: { source: () => testSource() } });
    expect(malformed.body).toContain(
      '<!-- a comment with <div data-rx-slot="recommendations"></div> inside -->',
    );
  });

  it('keeps a price split by child elements as it was, and rewrites an unclosed one in place', async () => {
    const { body } = await proxied(
      '/fixtures/malformed.html',
      {},
      { deps: { source: () => testSource({ priceFactor: 0.5 }) } },
    );
    const original = new TextDecoder().decode(await originBytes('/fixtures/malformed.html'));
    // The unclosed element's text is one whole price: rewritten where it stands (its end tag never
    // comes, so waiting for it would have moved the price to the end of the document).
    const half = (Math.round(productById('22423').price * 50) / 100).toFixed(2);
    expect(withoutInsertions(body)).toBe(
      original.replace('data-rx-product-id=22423>£12.75', `data-rx-product-id=22423>£${half}`),
    );
    expect(body).toContain('<span data-rx-price data-rx-product-id="85123A">£<b>2</b>.95</span>');
  });

  it('handles ~2 MB of inline JSON that looks like markup, filling only the real slot', async () => {
    const { body } = await proxied('/huge-inline-json', {}, { deps: { source: () => testSource() } });
    const original = await (await fetch(`${ORIGIN()}/huge-inline-json`)).text();
    expect(original.length).toBeGreaterThan(1_500_000);
    expect(withoutInsertions(body)).toBe(original);
    expect(count(body, '<section class="rx-block')).toBe(1);
  });

  it.each([
    ['in its Content-Type', 'windows-1252'],
    ['only in its <meta> (the header names none)', 'none'],
  ])(
    'rewrites a windows-1252 page declared %s in its own charset (ASCII-safe insertions, bytes elsewhere unchanged)',
    async (_, charset) => {
      const path = `/fixtures/windows-1252.html?charset=${charset}`;
      const decoder = new TextDecoder('windows-1252');
      const original = decoder.decode(await originBytes(path));
      // The proxy's body is bytes in windows-1252: read back with that decoder, not as UTF-8.
      const raw = await rawProxied(path, 1);
      const text = decoder.decode(raw);
      expect(withoutInsertions(text)).toBe(original);
      const block = text.match(/<section class="rx-block[\s\S]*?<\/section>/)?.[0] ?? '';
      expect(block).not.toBe('');
      expect([...block].every((ch) => ch.charCodeAt(0) < 0x80)).toBe(true);
      expect(block).toContain('&#xa3;'); // £ as a character reference, valid in any ASCII-compatible charset

      const personal = decoder.decode(await rawProxied(path, 0.85));
      const price = (Math.round(productById('85123A').price * 85) / 100).toFixed(2);
      expect(personal).toContain(`<span data-rx-price data-rx-product-id="85123A">&#xa3;${price}</span>`);
      expect(personal).toContain('<h1>Crème brûlée dish</h1>');
      // Byte A3 of the shop's own "£", never UTF-8's replacement character (EF BF BD).
      expect(raw.some((byte, i) => byte === 0xef && raw[i + 1] === 0xbf && raw[i + 2] === 0xbd)).toBe(false);
    },
  );
});

/** The proxied body as bytes (so a non-UTF-8 page is not decoded as UTF-8 on the way). */
async function rawProxied(path: string, priceFactor: number): Promise<Uint8Array> {
  const { createExecutionContext, waitOnExecutionContext } = await import('cloudflare:test');
  const { Hono } = await import('hono');
  const { proxyHandler } = await import('../../worker/src/proxy');
  const { browserHeaders, PUBLIC, testEnv } = await import('./proxy-helpers');
  const app = new Hono().all(
    '*',
    proxyHandler({ source: () => testSource({ priceFactor }), sendEvents: async () => {} }),
  );
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`${PUBLIC}${path}`, { headers: browserHeaders() }),
    testEnv(),
    ctx,
  );
  const bytes = new Uint8Array(await response.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return bytes;
}
