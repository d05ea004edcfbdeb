/**
 * Product ids as shops make them (`gid://shopify/ProductVariant/40001`, `TSHIRT/RED XL 1`, `Größe-2`,
 * markup), and category names (`Home/Garden`, `Décor`): events, bundles and proxy mode take any, so
 * the API must too, or such a shop's pages get no slots and no prices in script mode.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PriceQuote } from '../../contracts/api-types';
import { recommendationContext } from '../../worker/src/recommend/context';
import { SHOP_STYLE_CATEGORIES, shopStyleProductId } from '../support/shop-style-ids';
import { call, publish, recommend } from './edge-api-support';

/** The bundle's 40 items by id; item i is in category i % 4 (test/support/fixture-bundle.ts). */
const indexOf = new Map(Array.from({ length: 40 }, (_, i) => [shopStyleProductId(i), i]));

beforeAll(async () => {
  expect((await publish('shopIds', 'fixture-shop-ids')).status).toBe(200);
}, 120_000);

describe('product ids with slashes, spaces, letters beyond ASCII and markup', () => {
  it("a product page's recommendations are for that product", async () => {
    const asked = shopStyleProductId(5);
    expect(asked).toBe('TSHIRT/RED XL 5');
    const { response, body } = await recommend(
      `placement=product&product_id=${encodeURIComponent(asked)}&limit=4`,
    );
    expect(response.status).toBe(200);
    expect(body.model_version).toBe('fixture-shop-ids');
    expect(body.source).toBe('similar');
    const indexes = body.items.map((item) => indexOf.get(item.product_id));
    expect(indexes).toHaveLength(4);
    expect(indexes).not.toContain(5);
    // The `similar` graph ranks the product's own category first (two of four, the family cap): it was
    // looked up by this id.
    expect(indexes.slice(0, 2).map((index) => (index ?? -1) % 4)).toEqual([5 % 4, 5 % 4]);
  });

  it('prices are quoted for each id, as the catalogue spells it, with spaces around list entries ignored', async () => {
    const asked = [0, 2, 3].map(shopStyleProductId);
    const list = asked.map(encodeURIComponent).join(',%20');
    const response = await call(`/v1/prices?product_ids=${list}`);
    expect(response.status).toBe(200);
    const { prices } = (await response.json()) as { prices: PriceQuote[] };
    expect(prices.map((quote) => [quote.product_id, quote.base_price])).toEqual([
      ['gid://shopify/ProductVariant/40000', 1],
      ['Größe-2', 2],
      ['<b>3</b> & "co"', 2.5],
    ]);
  });

  it('a cart of such ids is never recommended back', async () => {
    const cart = [1, 5, 9].map(shopStyleProductId);
    const { response, body } = await recommend(
      `placement=cart&product_ids=${cart.map(encodeURIComponent).join(',')}&limit=10`,
    );
    expect(response.status).toBe(200);
    expect(body.items).toHaveLength(10);
    for (const id of cart) expect(body.items.map((item) => item.product_id)).not.toContain(id);
  });
});

describe('category names', () => {
  it("a category slot gets that category's items, named as the catalogue names it", async () => {
    for (const [c, name] of SHOP_STYLE_CATEGORIES.entries()) {
      const { response, body } = await recommend(
        `placement=category&category=${encodeURIComponent(` ${name} `)}&limit=5`,
      );
      expect(response.status, name).toBe(200);
      const indexes = body.items.map((item) => indexOf.get(item.product_id) ?? -1);
      expect(indexes, name).toHaveLength(5);
      expect(
        indexes.every((index) => index % 4 === c),
        name,
      ).toBe(true);
    }
  });
});

describe('the cache key of a query', () => {
  it('tells apart queries whose ids and category would read alike if joined', () => {
    const a = recommendationContext({ placement: 'product', productId: 'x|c=y', limit: 4 });
    const b = recommendationContext({ placement: 'product', productId: 'x', category: 'y|c=', limit: 4 });
    expect(a).not.toBe(b);
    const cartOf = (ids: string[]) => recommendationContext({ placement: 'cart', productIds: ids, limit: 4 });
    expect(cartOf(['a,b'])).not.toBe(cartOf(['a', 'b']));
    // The cart's order does not change the answer, so it does not change the key.
    expect(cartOf(['b', 'a'])).toBe(cartOf(['a', 'b']));
  });
});
