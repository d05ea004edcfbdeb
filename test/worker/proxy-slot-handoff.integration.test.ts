/**
 * A markup slot the worker leaves for the plugin (its answer did not come within the budget, or the
 * lookup failed) carries the query the worker resolved for it, as the attributes the plugin reads
 * (worker/src/proxy/rewriter.ts `handOver`): the plugin reads the attributes alone, without the URL,
 * so a bare `<div data-rx-slot>` on `/products/85123A` was a product block when the worker filled it
 * and a home block when the plugin did, and a placement `pdp` got the API's 400 and no block.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Env } from '../../worker/src/env';
import type { PersonalizationSource } from '../../worker/src/proxy';
import { decodeEntities } from '../../worker/src/proxy/html-text';
import { proxied } from './proxy-helpers';
import { withoutInsertions } from './proxy-insertions';
import { testSource } from './proxy-test-source';

/** The origin of these tests: every path answers `page` (so any URL can be a product page). */
const ORIGIN_HOST = 'origin.handoff.test';
let page = '';
let charset = 'utf-8';

const realFetch = globalThis.fetch;
beforeEach(() => {
  charset = 'utf-8';
  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname !== ORIGIN_HOST) return realFetch(input, init);
    return new Response(page, { headers: { 'content-type': `text/html; charset=${charset}` } });
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

function shopPage(slot: string): string {
  return `<!doctype html><html><head><title>Shop</title></head><body><main>${slot}</main><p id="last">end</p></body></html>`;
}

/** A source that never answers: every slot waits until the budget runs out. */
const silent: PersonalizationSource = {
  recommend: () => new Promise(() => {}),
  prices: () => new Promise(() => {}),
};

async function throughProxy(
  path: string,
  slot: string,
  options: { source?: PersonalizationSource; env?: Partial<Env> } = {},
): Promise<string> {
  page = shopPage(slot);
  const source = options.source ?? silent;
  const { response, body } = await proxied(
    path,
    {},
    {
      deps: { source: () => source },
      env: { ORIGIN_URL: `https://${ORIGIN_HOST}`, PERSONALIZATION_BUDGET_MS: '0', ...options.env },
    },
  );
  expect(response.status).toBe(200);
  return body;
}

/** Each `[data-rx-slot]` element's attributes as a browser reads them (entities decoded), in order. */
async function slotAttributes(html: string): Promise<Array<Array<[string, string]>>> {
  const slots: Array<Array<[string, string]>> = [];
  await new HTMLRewriter()
    .on('[data-rx-slot]', {
      element(element) {
        const attributes: Array<[string, string]> = [];
        for (const [name = '', value = ''] of element.attributes)
          attributes.push([name, decodeEntities(value)]);
        slots.push(attributes);
      },
    })
    .transform(new Response(html))
    .text();
  return slots;
}

/** What the plugin's request for the page's one slot would be (storefront-plugin/src/slots.ts slotQuery). */
async function pluginQuery(html: string): Promise<Record<string, string | undefined>> {
  const [slot] = await slotAttributes(html);
  const attribute = (name: string) => slot?.find(([key]) => key === name)?.[1];
  return {
    placement: attribute('data-rx-placement') ?? 'home',
    product_id: attribute('data-rx-product-id'),
    category: attribute('data-rx-category'),
    limit: attribute('data-rx-limit'),
  };
}

describe('proxy: a slot left for the plugin carries the query the worker resolved', () => {
  it('a bare slot on a product page: placement product and the URL’s product id', async () => {
    const body = await throughProxy('/products/85123A', '<div data-rx-slot="recommendations"></div>');
    expect(body).not.toContain('<section class="rx-block');
    expect(body).toContain(
      '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A"></div>',
    );
    expect(await pluginQuery(body)).toEqual({
      placement: 'product',
      product_id: '85123A',
      category: undefined,
      limit: undefined,
    });
  });

  it('an invalid placement ("pdp") becomes the URL’s; the limit and product ids are kept as written', async () => {
    const body = await throughProxy(
      '/products/85123A',
      '<div data-rx-slot="recommendations" data-rx-placement="pdp" data-rx-limit="30" data-rx-product-ids="a, b,"></div>',
    );
    expect(body).toContain(
      '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-limit="30" data-rx-product-ids="a, b," data-rx-product-id="85123A"></div>',
    );
  });

  it('a product slot without a product id gets the URL’s, and one trimmed of its spaces', async () => {
    const bare = await throughProxy(
      '/products/85123A',
      '<div data-rx-slot="recommendations" data-rx-placement="product"></div>',
    );
    expect(bare).toContain(
      '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A"></div>',
    );
    const spaced = await throughProxy(
      '/fixtures/any.html',
      '<div data-rx-slot data-rx-placement="product" data-rx-product-id=" 22423 "></div>',
    );
    expect(spaced).toContain(
      '<div data-rx-slot data-rx-placement="product" data-rx-product-id="22423"></div>',
    );
  });

  it('writes the same when the lookup fails instead of timing out', async () => {
    const body = await throughProxy('/products/85123A', '<div data-rx-slot="recommendations"></div>', {
      source: testSource({ fail: true }),
      env: { PERSONALIZATION_BUDGET_MS: '2000' },
    });
    expect(body).not.toContain('<section class="rx-block');
    expect(body).toContain(
      '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A"></div>',
    );
  });

  it('a category page’s slot gets its category; a value from the URL cannot leave its attribute', async () => {
    const body = await throughProxy(
      `/collections/${encodeURIComponent('Home & "Garden" <b>')}`,
      '<div data-rx-slot="recommendations"></div>',
    );
    expect(body).toContain(
      '<div data-rx-slot="recommendations" data-rx-placement="category" data-rx-category="Home &amp; &quot;Garden&quot; <b>"></div>',
    );
    expect(await slotAttributes(body)).toEqual([
      [
        ['data-rx-slot', 'recommendations'],
        ['data-rx-placement', 'category'],
        ['data-rx-category', 'Home & "Garden" <b>'],
      ],
    ]);
    // Nothing else became an element or an attribute: the page is the shop's but for the one slot.
    expect(body.match(/<b>/g)).toHaveLength(1);
    expect(body).toContain('<p id="last">end</p>');

    const id = 'x" onmouseover="alert(1)" data-a="<script>&amp;';
    const product = await throughProxy(
      `/products/${encodeURIComponent(id)}`,
      '<div data-rx-slot="recommendations"></div>',
    );
    expect(await slotAttributes(product)).toEqual([
      [
        ['data-rx-slot', 'recommendations'],
        ['data-rx-placement', 'product'],
        ['data-rx-product-id', id],
      ],
    ]);
    expect(product).not.toContain('onmouseover="');
  });

  it('writes characters the page’s charset lacks as references', async () => {
    charset = 'windows-1252';
    const body = await throughProxy('/products/caf%C3%A9-%E2%82%AC', '<div data-rx-slot></div>');
    expect(body).toContain(
      '<div data-rx-slot data-rx-placement="product" data-rx-product-id="caf&#xe9;-&#x20ac;">',
    );
  });

  it('leaves a slot alone when the plugin would ask the same: home without a placement, or the URL’s product', async () => {
    const home = await throughProxy('/', '<div data-rx-slot="recommendations" data-rx-limit="2"></div>');
    expect(withoutInsertions(home)).toBe(page);
    const product = await throughProxy(
      '/products/85123A',
      '<div data-rx-slot data-rx-placement="product" data-rx-product-id="85123A"></div>',
    );
    expect(withoutInsertions(product)).toBe(page);
    // Entities in the shop's markup are read as the browser reads them: the same category, not rewritten.
    const category = await throughProxy(
      '/collections/home-garden',
      '<div data-rx-slot data-rx-placement="category" data-rx-category="Home &amp; Garden"></div>',
    );
    expect(withoutInsertions(category)).toBe(page);
  });

  it('writes nothing on a slot it fills', async () => {
    const body = await throughProxy('/products/85123A', '<div data-rx-slot="recommendations"></div>', {
      source: testSource(),
      env: { PERSONALIZATION_BUDGET_MS: '2000' },
    });
    expect(body).toContain('<section class="rx-block rx-placement-product"');
    expect(body).toMatch(/<div data-rx-slot="recommendations" data-rx-filled="rec-test-1">/);
  });
});

/**
 * A held-out (control) shopper's page gets no session: nothing is looked up or filled by the worker,
 * and the plugin fills its slots from their attributes alone. Without the hand-over a bare slot on
 * `/products/ID` was a home block in control and a product block in treatment, so the experiment
 * compared placements, not personalization.
 */
describe('proxy: a held-out shopper’s slots carry the query treatment’s would ask', () => {
  const heldOut: Partial<Env> = { HOLDOUT_PERCENT: '100' };

  async function heldOutPage(path: string, slot: string, headers: Record<string, string> = {}) {
    page = shopPage(slot);
    const source = testSource();
    const result = await proxied(path, Object.keys(headers).length > 0 ? { headers } : {}, {
      deps: { source: () => source },
      env: { ORIGIN_URL: `https://${ORIGIN_HOST}`, ...heldOut },
    });
    expect(result.response.status).toBe(200);
    return { ...result, source };
  }

  it('a bare slot on a product page: placement product and the URL’s product id, nothing looked up', async () => {
    const { body, source, events } = await heldOutPage(
      '/products/85123A',
      '<div data-rx-slot="recommendations"></div>',
    );
    expect(source.recommendCalls).toBe(0);
    expect(source.priceCalls).toEqual([]);
    expect(body).not.toContain('<section class="rx-block');
    expect(body).not.toContain('<style data-rx-styles');
    expect(body).toContain(
      '<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A"></div>',
    );
    expect(body).toContain(
      '<script src="https://shop.example/rx.js" async data-rx-page-view="sent"></script></head>',
    );
    // Held out, and counted by the worker as treatment's pages are.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ context: { personalized: false } });
  });

  it('asks what a treatment page’s worker asked for the same slot (category page, invalid placement)', async () => {
    for (const [path, slot] of [
      ['/products/85123A', '<div data-rx-slot></div>'],
      ['/collections/home-garden', '<div data-rx-slot="recommendations" data-rx-limit="3"></div>'],
      ['/products/85123A', '<div data-rx-slot data-rx-placement="pdp"></div>'],
      ['/cart', '<div data-rx-slot data-rx-placement="cart"></div>'],
      // A query of its own (not the page's prefetch): the URL's product id still goes with it.
      ['/products/85123A', '<div data-rx-slot data-rx-placement="category" data-rx-category="Mugs"></div>'],
    ] as const) {
      const control = await heldOutPage(path, slot);
      const treatmentSource = testSource();
      page = shopPage(slot);
      await proxied(
        path,
        {},
        {
          deps: { source: () => treatmentSource },
          env: { ORIGIN_URL: `https://${ORIGIN_HOST}`, PERSONALIZATION_BUDGET_MS: '2000' },
        },
      );
      // The slot's query: its own fetch, or the page's prefetch it was cut from (same query, 12 items).
      const asked = treatmentSource.queries.at(-1);
      const { limit: _limit, ...query } = await pluginQuery(control.body);
      expect(query, `${path} ${slot}`).toEqual({
        placement: asked?.placement,
        product_id: asked?.productId,
        category: asked?.category,
      });
    }
  });

  it('leaves a slot alone when the plugin would ask the same, and one in <template> or on a void element', async () => {
    const same = await heldOutPage('/', '<div data-rx-slot="recommendations" data-rx-limit="2"></div>');
    expect(withoutInsertions(same.body)).toBe(page);
    const product = await heldOutPage(
      '/products/85123A',
      '<div data-rx-slot data-rx-placement="product" data-rx-product-id="85123A"></div>',
    );
    expect(withoutInsertions(product.body)).toBe(page);
    const inert = await heldOutPage(
      '/products/85123A',
      '<template><div data-rx-slot></div></template><img data-rx-slot src="/a.png">',
    );
    expect(withoutInsertions(inert.body)).toBe(page);
  });

  it('a crawler’s page stays the origin’s, byte for byte (no hand-over, no tag)', async () => {
    for (const env of [heldOut, { HOLDOUT_PERCENT: '0' }]) {
      page = shopPage('<div data-rx-slot="recommendations"></div>');
      const { body, events } = await proxied(
        '/products/85123A',
        { headers: { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)', accept: 'text/html' } },
        { deps: { source: () => silent }, env: { ORIGIN_URL: `https://${ORIGIN_HOST}`, ...env } },
      );
      expect(body).toBe(page);
      expect(events).toEqual([]);
    }
  });
});
