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
import { ADMIN_TOKEN, call, newShopper, productId, provided } from './edge-api-support';

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

    it('signs catalogue and order prices (and an older bundle’s unmarked one), never events’ or none', async () => {
      const shopper = await newShopper();
      const answered = await quotes(ids, shopper.cookie);
      expect(answered.map((quote) => [quote.product_id, quote.price, quote.token === null])).toEqual([
        // Before: 0.01 with a valid token, for whoever asked.
        [productId(0), FORGED, true],
        [productId(1), 1.5, false],
        [productId(2), 2, false],
        [productId(3), 0, true],
        [productId(4), 3, false],
      ]);
      for (const quote of answered) expect(quote.personalized).toBe(false);
      // An unsigned price is answered exactly as a worker without PRICE_SIGNING_KEY answers it.
      const keyless = await quotes(ids, shopper.cookie, { PRICE_SIGNING_KEY: undefined });
      const withoutExpiry = ({ expires_at: _, ...quote }: PriceQuote) => quote;
      expect(withoutExpiry(answered[0] as PriceQuote)).toEqual(withoutExpiry(keyless[0] as PriceQuote));
      expect(withoutExpiry(answered[3] as PriceQuote)).toEqual(withoutExpiry(keyless[3] as PriceQuote));
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
