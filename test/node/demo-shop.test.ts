import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../scripts/demo-shop/catalogue';
import { html } from '../../scripts/demo-shop/html';
import { type DemoShop, startDemoShop } from '../../scripts/demo-shop/index';

const catalogue = loadCatalogue();
let shop: DemoShop;

beforeAll(async () => {
  shop = await startDemoShop({ port: 0 });
});
afterAll(async () => {
  await shop.close();
});

async function page(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(`${shop.url}${path}`, { redirect: 'manual', ...init });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe('demo shop', () => {
  it('serves a product page with the rx markup, its price in the shop format and the attribution', async () => {
    const product = catalogue.byId.get('85123A');
    expect(product).toBeDefined();
    const { status, text } = await page('/products/85123A');
    expect(status).toBe(200);
    expect(text).toContain('<h1>WHITE HANGING HEART T-LIGHT HOLDER</h1>');
    expect(text).toContain('<span class="price" data-rx-price data-rx-product-id="85123A">£2.95</span>');
    expect(text).toMatch(
      /<div data-rx-slot="recommendations" data-rx-placement="product" data-rx-product-id="85123A" data-rx-limit="4" data-rx-heading="You may also like"><\/div>/,
    );
    expect(text).toContain('data-rx-add-to-cart data-rx-product-id="85123A"');
    expect(text).toContain('CC BY 4.0');
    expect(text).toContain('doi:10.1057/dbm.2012.17');
    expect(text).not.toContain('<script');
  });

  it('lists every product of a category, most bought first, with a category slot', async () => {
    const { status, text } = await page('/categories/candles');
    expect(status).toBe(200);
    const ids = [...text.matchAll(/<a class="card" href="\/products\/([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(catalogue.inCategory('candles').map((p) => p.product_id));
    expect(text).toContain('data-rx-placement="category" data-rx-category="candles"');
    expect((await page('/categories/nothing-here')).status).toBe(404);
  });

  it('home page has best sellers and a home slot', async () => {
    const { text } = await page('/');
    expect(text).toContain('data-rx-placement="home"');
    expect(text).toContain(`href="/products/${catalogue.products[0]?.product_id}"`);
  });

  it('keeps a cart in a cookie: add, view, remove, checkout', async () => {
    const added = await page('/cart/add', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'product_id=22423&quantity=2',
    });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe('/cart');
    const cookie = (added.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toBe('demo_cart=22423:2');

    const cart = await page('/cart', { headers: { cookie: `${cookie}~85123A:1` } });
    expect(cart.text).toContain('data-rx-placement="cart" data-rx-product-ids="22423,85123A"');
    expect(cart.text).toContain('Total <strong>£28.45</strong>');
    expect(cart.text).toContain('Cart (<span data-cart-count>3</span>)');

    const removed = await page('/cart/remove', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'product_id=22423',
    });
    expect(removed.headers.get('set-cookie')).toMatch(/^demo_cart=; .*Max-Age=0/);

    const order = await page('/checkout', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(order.status).toBe(200);
    expect(order.text).toMatch(/data-rx-order-id="HR-[0-9A-F]{8}" data-rx-revenue="25.50"/);
  });

  it('answers bad input with a specific 4xx, never a 500', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const unknown = await page('/cart/add', { method: 'POST', headers: form, body: 'product_id=NOPE' });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('product_id');
    const quantity = await page('/cart/add', {
      method: 'POST',
      headers: form,
      body: 'product_id=22423&quantity=-1',
    });
    expect(quantity.status).toBe(400);
    expect(quantity.text).toContain('quantity');
    expect(
      (
        await page('/cart/add', {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(415);
    expect((await page('/cart/add')).status).toBe(405);
    expect((await page('/', { method: 'DELETE' })).status).toBe(405);
  });

  it('ignores a forged cart cookie instead of failing', async () => {
    const { status, text } = await page('/cart', {
      headers: { cookie: 'demo_cart=<script>:9~22423:abc~85123A:500' },
    });
    expect(status).toBe(200);
    expect(text).toContain('data-rx-product-ids="85123A"');
    expect(text).toContain('Cart (<span data-cart-count>99</span>)');
  });

  it('escapes what it writes: the path on the 404 page and interpolated text', async () => {
    const { status, text } = await page('/%3Cimg%20src=x%20onerror=alert(1)%3E');
    expect(status).toBe(404);
    expect(text).not.toContain('<img src=x');
    expect(html`<p title="${'"><b>'}">${'<i>&'}</p>`.value).toBe(
      '<p title="&quot;&gt;&lt;b&gt;">&lt;i&gt;&amp;</p>',
    );
  });

  it('draws the same SVG for the same product, with a size', async () => {
    const first = await page('/images/85123A.svg');
    const second = await page('/images/85123A.svg');
    expect(first.headers.get('content-type')).toBe('image/svg+xml');
    expect(first.text).toBe(second.text);
    expect(first.text).toMatch(/^<svg [^>]*width="400" height="400"/);
    expect(first.text).not.toBe((await page('/images/22423.svg')).text);
    expect((await page('/images/NOPE.svg')).status).toBe(404);
  });

  it('writes the rx.js tag in script mode', async () => {
    const scripted = await startDemoShop({ port: 0, pluginSrc: 'http://127.0.0.1:9/rx.js' });
    try {
      const text = await (await fetch(`${scripted.url}/products/85123A`)).text();
      expect(text).toContain('<script src="http://127.0.0.1:9/rx.js" async data-site="demo"></script>');
    } finally {
      await scripted.close();
    }
  });
});
