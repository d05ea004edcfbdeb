/**
 * Price tokens only for the shop's own prices. The trainer marks where each catalogue price came from
 * (`price_source`, contracts/manifest.ts): a median of events is what anyone posted to /v1/events,
 * so 250 forged `Product Viewed` events at 0.01 made an item's price 0.01, and the worker signed it
 * and verify called the token valid. Such a price is now quoted with `token: null`, as without a
 * signing key, and checkout charges its own price; the built-in bundle (UCI orders and the demo
 * catalogue, written before the field: read as before) still signs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PriceQuote } from '../../contracts/api-types';
import type { PriceSource } from '../../contracts/manifest';
import { toHex } from '../../worker/src/hex';
import { ADMIN_TOKEN, call, newShopper, productId, provided, recommend } from './edge-api-support';
import { proxied } from './proxy-helpers';
import { testSource } from './proxy-test-source';

const VERSION = 'price-trust-1';

/** Item i of the fixture catalogue → where the trainer would say its price came from (absent: older bundle). */
const SOURCES: Array<PriceSource | undefined> = ['events', 'catalogue', 'orders', 'none', undefined];
/** The forged price of the item whose price came from events. */
const FORGED = 0.01;

function decode(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/**
 * The fixture bundle (test/support/fixture-bundle.ts: real graphs, as the trainer writes them) with
 * price sources on its first items, as a train from events with a partial --catalogue writes them.
 */
async function markedBundle(): Promise<Record<string, Uint8Array>> {
  const files = Object.fromEntries(
    Object.entries(provided().bundles.v1).map(([name, base64]) => [name, decode(base64)]),
  );
  const catalogue = JSON.parse(new TextDecoder().decode(files['catalogue.json'])) as {
    items: Array<{ price: number; price_source?: PriceSource }>;
  };
  SOURCES.forEach((source, i) => {
    const item = catalogue.items[i];
    if (!item || !source) return;
    item.price_source = source;
    if (source === 'events') item.price = FORGED;
    if (source === 'none') item.price = 0;
  });
  const catalogueBytes = new TextEncoder().encode(JSON.stringify(catalogue));
  const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json']));
  manifest.version = VERSION;
  manifest.catalogue.sha256 = await sha256(catalogueBytes);
  manifest.catalogue.fields = [...manifest.catalogue.fields, 'price_source'];
  return {
    ...files,
    'catalogue.json': catalogueBytes,
    'manifest.json': new TextEncoder().encode(JSON.stringify(manifest)),
  };
}

async function publishMarked(): Promise<void> {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (const [file, body] of Object.entries(await markedBundle())) {
    const response = await call(`/admin/models/${VERSION}/${file}`, { method: 'PUT', headers: auth, body });
    expect(response.status, `upload of ${file}`).toBe(201);
  }
  const activated = await call(`/admin/models/${VERSION}/activate`, { method: 'POST', headers: auth });
  expect(activated.status).toBe(200);
}

async function quotes(ids: string[], cookie: string, env = {}): Promise<PriceQuote[]> {
  const response = await call(
    `/v1/prices?product_ids=${ids.map(encodeURIComponent).join(',')}`,
    { headers: { cookie } },
    env,
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { prices: PriceQuote[] }).prices;
}

async function verify(tokens: string[], cookie: string) {
  const response = await call('/v1/prices/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ tokens }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    results: Array<{ valid: boolean; product_id?: string }>;
    valid: number;
  };
}

describe('price tokens only for prices from the shop’s own data', () => {
  it('the built-in bundle (Online Retail orders and the demo catalogue) still signs, and verify takes it', async () => {
    const shopper = await newShopper();
    const [quote] = await quotes(['85123A'], shopper.cookie);
    expect(quote?.price).toBe(2.95);
    expect(quote?.token).toMatch(/^v2\./);
    expect((await verify([quote?.token ?? ''], shopper.cookie)).valid).toBe(1);
  });

  describe('a bundle that marks its prices', () => {
    beforeAll(publishMarked, 120_000);
    const ids = SOURCES.map((_, i) => productId(i));

    it('signs catalogue and order prices (and an older bundle’s unmarked one), never events’; none has no quote', async () => {
      const shopper = await newShopper();
      const answered = await quotes(ids, shopper.cookie);
      expect(answered.map((quote) => [quote.product_id, quote.price, quote.token === null])).toEqual([
        // Before: 0.01 with a valid token, for whoever asked.
        [productId(0), FORGED, true],
        [productId(1), 1.5, false],
        [productId(2), 2, false],
        // An item priced nowhere (none) is left out, as an unknown id. Before: quoted at 0.
        [productId(4), 3, false],
      ]);
      for (const quote of answered) expect(quote.personalized).toBe(false);
      // An unsigned price is answered exactly as a worker without PRICE_SIGNING_KEY answers it.
      const keyless = await quotes(ids, shopper.cookie, { PRICE_SIGNING_KEY: undefined });
      const withoutExpiry = ({ expires_at: _, ...quote }: PriceQuote) => quote;
      expect(withoutExpiry(answered[0] as PriceQuote)).toEqual(withoutExpiry(keyless[0] as PriceQuote));
      expect(keyless.map((quote) => quote.product_id)).not.toContain(productId(3));
      const offRecord = await call(`/v1/prices?product_ids=${productId(3)},${productId(4)}&tracking=off`);
      expect(((await offRecord.json()) as { prices: PriceQuote[] }).prices.map((q) => q.product_id)).toEqual([
        productId(4),
      ]);
    });

    it('recommends an item priced nowhere with price null (not 0), computed and from the cache alike', async () => {
      const shopper = await newShopper();
      const priceOf = (items: Array<{ product_id: string; price: number | null }>) =>
        Object.fromEntries(items.map((item) => [item.product_id, item.price]));
      const first = await recommend('placement=home&limit=8', { cookie: shopper.cookie });
      expect(first.response.status).toBe(200);
      // The five most popular items are the marked ones. Before: productId(3) at price 0.
      expect(priceOf(first.body.items)).toMatchObject({
        [productId(0)]: FORGED,
        [productId(1)]: 1.5,
        [productId(3)]: null,
      });
      // The list is stored in Redis and read back (the cache's schema takes the null).
      let cached = first;
      for (let attempt = 0; attempt < 50 && !cached.body.cached; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        cached = await recommend('placement=home&limit=8', { cookie: shopper.cookie });
      }
      expect(cached.body.cached).toBe(true);
      expect(priceOf(cached.body.items)[productId(3)]).toBeNull();
    });

    it('verify validates no token for an event-priced item: none is made, and the others verify', async () => {
      const shopper = await newShopper();
      const tokens = (await quotes(ids, shopper.cookie)).flatMap((quote) =>
        quote.token ? [quote.token] : [],
      );
      const body = await verify(tokens, shopper.cookie);
      expect(body.results.every((result) => result.valid)).toBe(true);
      expect(body.results.map((result) => result.product_id)).toEqual([
        productId(1),
        productId(2),
        productId(4),
      ]);
    });
  });
});

describe('proxy mode: an item without a price', () => {
  it('is shown in the block without one (an empty rx-price), next to priced items', async () => {
    // What the worker's source answers for a catalogue item priced nowhere: price null, and no quote.
    const items = [
      {
        product_id: 'NO-PRICE-1',
        title: 'Unpriced',
        url: '/products/NO-PRICE-1',
        image: '',
        price: null,
        score: 1,
      },
      { product_id: '22423', title: 'Priced', url: '/products/22423', image: '', price: 12.75, score: 0.5 },
    ];
    const { body } = await proxied(
      '/fixtures/demo-product.html',
      {},
      { deps: { source: () => testSource({ items }) } },
    );
    const prices = [
      ...body.matchAll(
        /<a class="rx-link"[^>]* data-rx-product-id="([^"]+)"[^>]*>(?:(?!<\/a>).)*<\/a><span class="rx-price">([^<]*)<\/span>/g,
      ),
    ];
    // Before: "£0.00" for NO-PRICE-1.
    expect(prices.map((match) => [match[1], match[2]])).toEqual([
      ['NO-PRICE-1', ''],
      ['22423', '£12.75'],
    ]);
  });
});
