/**
 * A query's `category` is matched to the catalogue's categories: by name, else by slug (case, accents,
 * punctuation, spaces and `&`/`and` aside), so a category page's URL (`/collections/home-garden`)
 * finds "Home & Garden"; a category the catalogue does not have is ignored (the answer is the
 * unfiltered one), in the API and in proxy mode alike, instead of emptying every slot of the page.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CatalogueItem } from '../../contracts/manifest';
import { Deadline } from '../../worker/src/proxy/deadline';
import { nonPersonalSource } from '../../worker/src/proxy/non-personal-source';
import { pageContextFromUrl } from '../../worker/src/proxy/page-context';
import { PageSession } from '../../worker/src/proxy/page-session';
import { slotQuery } from '../../worker/src/proxy/slot-query';
import { catalogueCategories, categorySlug } from '../../worker/src/recommend/category';
import { computeRecommendations, NO_SIGNALS, type RankingBundle } from '../../worker/src/recommend/compute';
import { SHOP_STYLE_CATEGORIES, shopStyleProductId } from '../support/shop-style-ids';
import { edgeEnv, publish, recommend } from './edge-api-support';

const CATEGORIES = ['Home & Garden', 'Toys', 'Décor', 'Kids (3+)'];

/** Ten items, item i of CATEGORIES[i % 4], ranked by popularity (no models). */
function bundle(): RankingBundle {
  const items: CatalogueItem[] = Array.from({ length: 10 }, (_, i) => ({
    product_id: `P${i}`,
    title: `Item ${i}`,
    url: `/products/P${i}`,
    image: '',
    price: 1,
    currency: 'GBP',
    category: CATEGORIES[i % 4] ?? '',
    available: true,
    popularity: 100 - i,
  }));
  return {
    version: 'category-test',
    items,
    byId: new Map(items.map((item, index) => [item.product_id, index])),
    popularityOrder: Int32Array.from(items.keys()),
  } as unknown as RankingBundle;
}

const ids = (items: ReadonlyArray<{ product_id: string }>) => items.map((item) => item.product_id);

describe('matching a category to the catalogue', () => {
  it('reads a URL slug as the catalogue name it comes from', () => {
    expect(categorySlug('Home & Garden')).toBe('home-garden');
    expect(categorySlug('Home and Garden')).toBe('home-garden');
    expect(categorySlug('Décor')).toBe('decor');
    expect(categorySlug('Kids (3+)')).toBe('kids-3');
    const items = bundle().items;
    expect(catalogueCategories(items, 'Home & Garden')).toEqual(['Home & Garden']);
    expect(catalogueCategories(items, 'home-garden')).toEqual(['Home & Garden']);
    expect(catalogueCategories(items, 'HOME-AND-GARDEN')).toEqual(['Home & Garden']);
    expect(catalogueCategories(items, 'decor')).toEqual(['Décor']);
    expect(catalogueCategories(items, 'kids-3')).toEqual(['Kids (3+)']);
    expect(catalogueCategories(items, 'nope')).toEqual([]);
    expect(catalogueCategories(items, '&')).toEqual([]);
  });

  it("reads a shop's slug of a name with an apostrophe, which drops it (Shopify, WooCommerce)", () => {
    const items = ["Men's Shoes", 'Kids’ Toys', 'Toys'].map((category, index) => ({
      ...bundle().items[0],
      product_id: `A${index}`,
      category,
    })) as CatalogueItem[];
    // `/collections/mens-shoes` and `/product-category/mens-shoes` are "Men's Shoes"; the apostrophe
    // read as a separator (`men-s-shoes`) still is.
    expect(catalogueCategories(items, 'mens-shoes')).toEqual(["Men's Shoes"]);
    expect(catalogueCategories(items, 'men-s-shoes')).toEqual(["Men's Shoes"]);
    expect(catalogueCategories(items, 'Mens Shoes')).toEqual(["Men's Shoes"]);
    expect(catalogueCategories(items, 'kids-toys')).toEqual(['Kids’ Toys']);
    expect(catalogueCategories(items, 'toys')).toEqual(['Toys']);
  });

  it('filters by the matched category, and ignores one the catalogue does not have', async () => {
    const catalogue = bundle();
    const unfiltered = await computeRecommendations(
      catalogue,
      { placement: 'home', limit: 4 },
      NO_SIGNALS,
      true,
    );
    const bySlug = await computeRecommendations(
      catalogue,
      { placement: 'category', category: 'home-garden', limit: 4 },
      NO_SIGNALS,
      true,
    );
    expect(ids(bySlug.items)).toEqual(['P0', 'P4', 'P8']);
    const unknown = await computeRecommendations(
      catalogue,
      { placement: 'category', category: 'nope', limit: 4 },
      NO_SIGNALS,
      true,
    );
    expect(ids(unknown.items)).toEqual(ids(unfiltered.items));
    expect(unknown.items).toHaveLength(4);
  });

  it("a category page's slots, home ones included, get the URL's category as the catalogue names it", async () => {
    const page = pageContextFromUrl(new URL('https://shop.example/collections/home-garden'));
    expect(page).toEqual({ placement: 'category', category: 'home-garden' });
    for (const placement of ['home', null]) {
      const query = slotQuery(
        { getAttribute: (name) => (name === 'data-rx-placement' ? placement : null) },
        page,
      );
      const { items } = await computeRecommendations(bundle(), query, NO_SIGNALS, true);
      expect(ids(items), String(placement)).toEqual(['P0', 'P4', 'P8']);
    }
    const unknown = pageContextFromUrl(new URL('https://shop.example/collections/sale'));
    const query = slotQuery({ getAttribute: () => null }, unknown);
    const { items } = await computeRecommendations(bundle(), query, NO_SIGNALS, true);
    expect(items).toHaveLength(4);
  });
});

describe('with the worker and a catalogue of shop-style category names', () => {
  /** The bundle's 40 items by id; item i is in SHOP_STYLE_CATEGORIES[i % 4]. */
  const indexOf = new Map(Array.from({ length: 40 }, (_, i) => [shopStyleProductId(i), i]));
  const categoryOf = (id: string) => SHOP_STYLE_CATEGORIES[(indexOf.get(id) ?? -1) % 4];

  beforeAll(async () => {
    expect((await publish('shopIds', 'fixture-shop-ids')).status).toBe(200);
  }, 120_000);

  it('the API takes a slug for a category, and answers unfiltered for an unknown one', async () => {
    const slug = await recommend('placement=category&category=home-garden&limit=5&tracking=off');
    expect(slug.response.status).toBe(200);
    expect(slug.body.model_version).toBe('fixture-shop-ids');
    expect(slug.body.items).toHaveLength(5);
    expect(slug.body.items.map((item) => categoryOf(item.product_id))).toEqual(Array(5).fill('Home/Garden'));
    const named = await recommend(
      `placement=category&category=${encodeURIComponent('Home/Garden')}&limit=5&tracking=off`,
    );
    expect(ids(slug.body.items)).toEqual(ids(named.body.items));

    const unknown = await recommend('placement=category&category=nope&limit=5&tracking=off');
    const none = await recommend('placement=category&limit=5&tracking=off');
    expect(unknown.body.items).toHaveLength(5);
    expect(ids(unknown.body.items)).toEqual(ids(none.body.items));
  });

  it("proxy mode fills a category page's slot, home or category, from its URL's slug", async () => {
    for (const path of ['/collections/home-garden', '/product-category/decor']) {
      const page = pageContextFromUrl(new URL(`https://shop.example${path}`));
      const ctx = createExecutionContext();
      const session = new PageSession(nonPersonalSource(edgeEnv(), ctx), new Deadline(), page);
      session.prefetch();
      const slot = await session.recommendations(
        slotQuery({ getAttribute: (name) => (name === 'data-rx-placement' ? 'home' : null) }, page),
      );
      await waitOnExecutionContext(ctx);
      const families = new Set((slot?.items ?? []).map((item) => categoryOf(item.product_id)));
      expect(slot?.items, path).toHaveLength(4);
      expect([...families], path).toEqual([path.endsWith('decor') ? 'Décor' : 'Home/Garden']);
    }
  });
});
