/**
 * What `GET /v1/recommendations` tells the plugin so a slot it fills reads as one proxy mode fills: the
 * placement's default heading (`heading`, the table proxy mode writes from), and a cart slot's
 * `data-rx-product-ids` with an empty entry taken as proxy mode takes it (the plugin sends it as is).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PLACEMENT_HEADINGS } from '../../contracts/slot-defaults';
import { slotHeading } from '../../worker/src/proxy/slot-query';
import { newShopper, productId, publish, recommend } from './edge-api-support';

beforeAll(async () => {
  expect((await publish('v1', 'fixture-v1')).status).toBe(200);
}, 120_000);

const noHeading = { getAttribute: () => null };

describe('GET /v1/recommendations: heading', () => {
  const queries = {
    home: 'placement=home',
    product: `placement=product&product_id=${productId(0)}`,
    cart: `placement=cart&product_ids=${productId(0)}`,
    category: 'placement=category&category=mugs',
  } as const;

  for (const [placement, query] of Object.entries(queries) as [keyof typeof queries, string][]) {
    it(`${placement}: the heading proxy mode writes for a slot without data-rx-heading`, async () => {
      const shopper = await newShopper();
      const tracked = await recommend(query, { cookie: shopper.cookie });
      expect(tracked.response.status).toBe(200);
      expect(tracked.body.items.length).toBeGreaterThan(0);
      expect((tracked.body as { heading?: string }).heading).toBe(slotHeading(noHeading, placement));
      expect((tracked.body as { heading?: string }).heading).toBe(PLACEMENT_HEADINGS[placement]);
      // Before consent (or under GPC) the plugin asks with tracking=off: the same heading.
      const untracked = await recommend(`${query}&tracking=off`);
      expect(untracked.response.status).toBe(200);
      expect((untracked.body as { heading?: string }).heading).toBe(PLACEMENT_HEADINGS[placement]);
    });
  }

  it('the headings differ by placement (a product page does not say "Recommended for you")', () => {
    expect(new Set(Object.values(PLACEMENT_HEADINGS)).size).toBe(4);
  });
});

describe('GET /v1/recommendations: product_ids as a page writes them', () => {
  it('skips an empty entry (a trailing comma from a template loop), as proxy mode does, instead of a 400', async () => {
    const ids = `${productId(0)},${productId(3)}`;
    const exact = await recommend(`placement=cart&product_ids=${ids}&tracking=off`);
    expect(exact.response.status).toBe(200);
    for (const written of [`${ids},`, `${productId(0)},,${productId(3)}`, `,${ids}`, `${ids}, `]) {
      const answer = await recommend(
        `placement=cart&product_ids=${encodeURIComponent(written)}&tracking=off`,
      );
      expect(answer.response.status, written).toBe(200);
      expect(answer.body.items, written).toEqual(exact.body.items);
    }
  });

  it('still refuses a list of empty entries; an empty or blank product_ids is absent (the cart from events)', async () => {
    for (const written of [',', ' , ']) {
      const answer = await recommend(`placement=cart&product_ids=${encodeURIComponent(written)}`);
      expect(answer.response.status, JSON.stringify(written)).toBe(400);
      expect((answer.body as unknown as { error: { details: unknown } }).error.details).toEqual([
        { field: 'product_ids', reason: 'is empty: list at least one product id, comma-separated' },
      ]);
    }
    for (const written of ['', '  ']) {
      const answer = await recommend(`placement=cart&product_ids=${encodeURIComponent(written)}`);
      expect(answer.response.status, JSON.stringify(written)).toBe(200);
    }
  });
});
