/**
 * Whose price an `RX_PRICE_SELECTOR` match shows (docs/proxy.md step 5, "The product id"): its own id
 * attribute, else the innermost `RX_PRODUCT_ID_SELECTOR` match with content around it, else the page's
 * (the URL's, or a match without content such as `<meta content>`). An id never reaches a price outside
 * its element: on a listing page one item's id must not name the next item's price.
 */
import { describe, expect, it } from 'vitest';
import type { Env } from '../../worker/src/env';
import type { PersonalizationSource } from '../../worker/src/proxy';
import { parseProxyConfig } from '../../worker/src/proxy/config';
import { Deadline } from '../../worker/src/proxy/deadline';
import type { PageContext } from '../../worker/src/proxy/page-context';
import { PageSession } from '../../worker/src/proxy/page-session';
import { pageRewriter } from '../../worker/src/proxy/rewriter';
import { direct, proxied } from './proxy-helpers';
import { withoutInsertions } from './proxy-insertions';
import { productById, testSource } from './proxy-test-source';

const WOOCOMMERCE = '/fixtures/woocommerce-storefront-shop.html';

/**
 * The demo catalogue's prices in euros, as a German shop's catalogue has them: a price is rewritten
 * only where the page prints the quote's base price in its currency (price-check.ts).
 */
function euroSource(priceFactor: number): PersonalizationSource {
  const source = testSource({ priceFactor });
  return {
    recommend: (query) => source.recommend(query),
    prices: async (ids) => (await source.prices(ids)).map((quote) => ({ ...quote, currency: 'EUR' })),
  };
}

interface RewriteOptions {
  productIdSelector: string;
  context?: PageContext;
}

/** A treatment shopper's rewrite of `html` with `RX_PRICE_SELECTOR=".p"`, at half price. */
async function rewrite(html: string, { productIdSelector, context }: RewriteOptions): Promise<string> {
  const config = parseProxyConfig({
    ORIGIN_URL: 'https://origin.example',
    RX_PRICE_SELECTOR: '.p',
    RX_PRODUCT_ID_SELECTOR: productIdSelector,
  } as Env);
  if (!config) throw new Error('proxy mode expected');
  expect(config.problems).toEqual([]);
  const session = new PageSession(
    testSource({ priceFactor: 0.5 }),
    new Deadline(),
    context ?? { placement: 'category', category: 'all' },
  );
  const rewriter = pageRewriter({
    config,
    session,
    personal: true,
    pageViewSent: true,
    encode: (s) => s,
    page: new URL('https://shop.example/'),
  });
  const response = new Response(`<!doctype html><html><head></head><body>${html}</body></html>`, {
    headers: { 'content-type': 'text/html; charset=utf-8' },
  });
  return rewriter.transform(response).text();
}

/** The product id each `<span class=p id=NAME>` was marked with (null: left unmarked). */
function markedIds(html: string): Record<string, string | null> {
  const ids: Record<string, string | null> = {};
  for (const match of html.matchAll(
    /<span class=p id=(\w+)( data-rx-price="" data-rx-product-id="([^"]*)")?>/g,
  )) {
    ids[match[1] ?? ''] = match[3] ?? null;
  }
  return ids;
}

const PRICE = (name: string) => `<span class=p id=${name}>£1.00</span>`;

describe('proxy: the product a price belongs to', () => {
  it("does not give a listing item's price the id of the item before it (WooCommerce shop page)", async () => {
    const { body } = await proxied(
      WOOCOMMERCE,
      {},
      {
        deps: { source: () => euroSource(0.5) },
        env: {
          RX_PRICE_SELECTOR: '.price-item--regular, .rx-amount, .woocommerce-Price-amount',
          RX_PRODUCT_ID_SELECTOR: 'product-info[data-product-id], [data-product_id]',
        },
      },
    );
    const half = (Math.round(productById('22423').price * 50) / 100).toFixed(2).replace('.', ',');
    // The first item's price carries its own id (and the id selector matches it too): marked and rewritten.
    expect(body).toContain(
      `<span class="rx-amount" data-product_id="22423" data-rx-price="" data-rx-product-id="22423">${half}&nbsp;&euro;</span>`,
    );
    // The second item's price (85123A, whose id comes only after it, on its add-to-cart link) is no
    // longer marked with 22423, the id of the first item's link: it is left as the shop sent it.
    expect(body).toContain(
      '<span class="price"><span class="woocommerce-Price-amount amount"><bdi>2,95&nbsp;',
    );
    expect(body.match(/data-rx-product-id="[^"]*"/g)).toEqual(['data-rx-product-id="22423"']);
    expect(withoutInsertions(body)).toBe(
      withoutInsertions((await direct(WOOCOMMERCE)).body.replace('12,75&nbsp;', `${half}&nbsp;`)),
    );
  });

  it('applies an id from an element with content to the prices inside it, restoring the enclosing one', async () => {
    const html =
      `<ul><li data-product-id=22423>${PRICE('a')}<a data-product-id=22423>Add</a></li>` +
      `<li>${PRICE('b')}<a data-product-id=85123A>Add</a></li></ul>` +
      `<div data-product-id=47566>${PRICE('c')}<div data-product-id=84879>${PRICE('d')}</div>${PRICE('e')}</div>` +
      PRICE('f');
    expect(markedIds(await rewrite(html, { productIdSelector: '[data-product-id]' }))).toEqual({
      a: '22423',
      b: null,
      c: '47566',
      d: '84879',
      e: '47566',
      f: null,
    });
  });

  it("ends an id element's reach at its end tag when it is a price element too", async () => {
    // One element matched by both selectors: its price handler's end-tag handler must close the id's too.
    const html = `<span class=p id=a data-product-id=22423>£1.00</span>${PRICE('b')}`;
    const out = await rewrite(html, { productIdSelector: '[data-product-id]' });
    expect(out).toContain(
      '<span class=p id=a data-product-id=22423 data-rx-price="" data-rx-product-id="22423">',
    );
    expect(markedIds(out)).toEqual({ b: null });
  });

  it("takes the page's id from the URL or an element without content, inner ids first", async () => {
    const page = `${PRICE('a')}<div class=card data-sku=22423>${PRICE('b')}</div>${PRICE('c')}`;
    const product: PageContext = { placement: 'product', productId: '85123A' };
    expect(markedIds(await rewrite(page, { productIdSelector: '.card', context: product }))).toEqual({
      a: '85123A',
      b: '22423',
      c: '85123A',
    });
    const meta = `<meta itemprop=sku content=47566><template><meta itemprop=sku content=84879></template>${page}`;
    expect(
      markedIds(await rewrite(meta, { productIdSelector: '.card, meta[itemprop=sku], input[name=id]' })),
    ).toEqual({ a: '47566', b: '22423', c: '47566' });
    // A later input names the page's product for the prices after it, as before.
    const input = `${PRICE('a')}<input type=hidden name=id value=84879>${PRICE('b')}`;
    expect(markedIds(await rewrite(input, { productIdSelector: 'input[name=id]' }))).toEqual({
      a: null,
      b: '84879',
    });
  });
});
