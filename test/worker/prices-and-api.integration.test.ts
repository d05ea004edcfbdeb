import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUERY_LENGTH, PRODUCT_ID_PATTERN, type PriceQuote } from '../../contracts/api-types';
import { signingKey, signPriceToken } from '../../worker/src/prices';
import { holdoutBucket } from '../../worker/src/shopper';
import {
  call,
  directRedis,
  newShopper,
  PRICE_SIGNING_KEY,
  productId,
  publish,
  recommend,
  SITE,
} from './edge-api-support';

/** The tests' worker has a PRICE_SIGNING_KEY, so every quote carries a token. */
interface Quote extends PriceQuote {
  token: string;
}
interface VerifyBody {
  results: Array<{ index: number; valid: boolean; reason?: string; product_id?: string; price?: number }>;
  valid: number;
}
interface ErrorBody {
  error: {
    code: string;
    message: string;
    details: Array<{ field?: string; index?: number; reason: string }>;
  };
}

async function quotes(ids: string[], cookie: string): Promise<Quote[]> {
  const response = await call(`/v1/prices?product_ids=${ids.join(',')}`, { headers: { cookie } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { prices: Quote[] }).prices;
}

async function verify(body: unknown, headers: Record<string, string> = {}) {
  const response = await call('/v1/prices/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as VerifyBody & ErrorBody };
}

beforeAll(async () => {
  expect((await publish('v1', 'fixture-v1')).status).toBe(200);
}, 120_000);

describe('GET /v1/prices', () => {
  it('base prices, not personalized, with a token; unknown ids are left out', async () => {
    const shopper = await newShopper();
    const prices = await quotes([productId(0), productId(3), 'UNKNOWN-9'], shopper.cookie);
    expect(prices.map((p) => p.product_id)).toEqual([productId(0), productId(3)]);
    expect(prices[0]).toMatchObject({
      base_price: 1,
      price: 1,
      currency: 'GBP',
      discount: 0,
      personalized: false,
    });
    expect(prices[1]).toMatchObject({ base_price: 2.5, price: 2.5 });
    // `v2.<key id>.<payload>.<mac>` (price-key-rotation.integration.test.ts covers the key id).
    expect(prices[0]?.token).toMatch(/^v2\.[0-9a-f]{12}\.[\w-]+\.[\w-]+$/);
    // The token carries the hashed shopper, never the raw id.
    const payload = atob((prices[0]?.token.split('.')[2] ?? '').replaceAll('-', '+').replaceAll('_', '/'));
    expect(payload).toContain(shopper.hash);
    expect(payload).not.toContain(shopper.id);
  });
});

describe('GET /v1/prices?tracking=off (a shopper who may not be tracked)', () => {
  it('base prices without tokens, no cookie, whatever id comes along', async () => {
    const shopper = await newShopper();
    const response = await call(`/v1/prices?product_ids=${productId(0)},${productId(3)}&tracking=off`, {
      headers: { cookie: shopper.cookie, 'x-rx-uid': shopper.id },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const { prices } = (await response.json()) as { prices: Array<Omit<Quote, 'token'> & { token: null }> };
    expect(prices.map((p) => [p.product_id, p.price, p.base_price, p.personalized, p.token])).toEqual([
      [productId(0), 1, 1, false, null],
      [productId(3), 2.5, 2.5, false, null],
    ]);
  });

  it('refuses a user_id with tracking=off, and any value but off, naming the field', async () => {
    for (const [query, field] of [
      ['tracking=off&user_id=u-1', 'user_id'],
      ['tracking=none', 'tracking'],
    ] as const) {
      const response = await call(`/v1/prices?product_ids=${productId(0)}&${query}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.details.map((d) => d.field)).toEqual([field]);
    }
  });
});

describe('POST /v1/prices/verify', () => {
  it('accepts the shopper own tokens and returns what they state', async () => {
    const shopper = await newShopper();
    const [quote] = await quotes([productId(5)], shopper.cookie);
    const { status, body } = await verify({ tokens: [quote?.token] }, { cookie: shopper.cookie });
    expect(status).toBe(200);
    expect(body.valid).toBe(1);
    expect(body.results[0]).toMatchObject({
      index: 0,
      valid: true,
      product_id: productId(5),
      price: quote?.price,
    });
    // The shop's server can name the shopper in the body instead of a cookie.
    expect((await verify({ tokens: [quote?.token], anonymous_id: shopper.id })).body.valid).toBe(1);
  });

  it('rejects tampered, expired, other-user and malformed tokens, each with its reason', async () => {
    const shopper = await newShopper();
    const [quote] = await quotes([productId(5)], shopper.cookie);
    const token = quote?.token ?? '';
    const [version, kid, payload, mac] = token.split('.');
    const claims = JSON.parse(atob((payload ?? '').replaceAll('-', '+').replaceAll('_', '/'))) as {
      a: number;
    };
    const cheaper = btoa(JSON.stringify({ ...claims, a: 0.01 }))
      .replaceAll('+', '-')
      .replaceAll('/', '_')
      .replace(/=+$/, '');
    const tampered = `${version}.${kid}.${cheaper}.${mac}`;
    const key = await signingKey(PRICE_SIGNING_KEY);
    const expired = await signPriceToken(key, {
      p: productId(5),
      a: 3.5,
      c: 'GBP',
      u: shopper.hash,
      e: 1_000,
    });
    const other = await newShopper();
    const [otherQuote] = await quotes([productId(5)], other.cookie);
    // Signed with another key, under the real key's id (a forger's own key id is `unknown_key`).
    const forged = (
      await signPriceToken(await signingKey('another-key'), {
        p: productId(5),
        a: 0,
        c: 'GBP',
        u: shopper.hash,
        e: 4_000_000_000,
      })
    ).replace(/^v2\.[0-9a-f]{12}\./, `v2.${kid}.`);

    // The same MAC bytes spelled another way: the last character's unused low bit flipped, which
    // decoding ignores. One token, one spelling, or a shop refusing a token string seen before is replayed.
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = ALPHABET.indexOf(token.at(-1) ?? '');
    const respelled = token.slice(0, -1) + ALPHABET[last ^ 1];

    const { status, body } = await verify(
      { tokens: [tampered, expired, otherQuote?.token, 'garbage', forged, respelled, token] },
      { cookie: shopper.cookie },
    );
    expect(status).toBe(200);
    expect(body.results.map((r) => r.reason ?? 'valid')).toEqual([
      'bad_signature',
      'expired',
      'other_user',
      'malformed',
      'bad_signature',
      'malformed',
      'valid',
    ]);
    // Claims are only echoed for valid tokens.
    expect(body.results[0]?.product_id).toBeUndefined();
    expect(body.valid).toBe(1);
  });

  it('400 malformed_json for a body that is not JSON (it was a 500)', async () => {
    const response = await call('/v1/prices/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"tokens":[',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.code).toBe('malformed_json');
  });

  it('400 naming the field for a bad body, 415 for a non-JSON body, 503 without a signing key', async () => {
    const empty = await verify({ tokens: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0]?.field).toBe('tokens');
    const badId = await verify({ tokens: ['x'], anonymous_id: 'not-a-uuid' });
    expect(badId.body.error.details[0]?.field).toBe('anonymous_id');
    // A body that is JSON but no object names the body (it named "").
    for (const body of [null, []]) {
      const whole = await verify(body);
      expect(whole.status).toBe(400);
      expect(whole.body.error.details[0]?.field).toBe('body');
    }
    const text = await call('/v1/prices/verify', { method: 'POST', body: 'tokens=1' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as ErrorBody).error.details[0]?.field).toBe('content-type');
    // Media types ignore case: a checkout server's `Application/JSON` is read (here: 400 on the body).
    const upper = await call('/v1/prices/verify', {
      method: 'POST',
      headers: { 'content-type': 'Application/JSON; Charset=UTF-8' },
      body: '{"tokens":[]}',
    });
    expect(upper.status).toBe(400);
    expect(((await upper.json()) as ErrorBody).error.details[0]?.field).toBe('tokens');
    const noKey = await call(
      '/v1/prices/verify',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"tokens":["x"]}' },
      { PRICE_SIGNING_KEY: '' },
    );
    expect(noKey.status).toBe(503);
  });

  it('a PRICE_SIGNING_KEY of only whitespace is no key: anyone could sign with it, so nothing is signed or verified', async () => {
    const blank = { PRICE_SIGNING_KEY: ' \n', PRICE_SIGNING_KEY_PREVIOUS: '' };
    const shopper = await newShopper();
    const response = await call(
      `/v1/prices?product_ids=${productId(0)}`,
      { headers: { cookie: shopper.cookie } },
      blank,
    );
    expect(response.status).toBe(200);
    const [quote] = ((await response.json()) as { prices: PriceQuote[] }).prices;
    expect(quote).toMatchObject({ product_id: productId(0), token: null });
    // A token forged with that "key" by anyone who guesses it is not honoured: verify is off, as without a key.
    const forged = await signPriceToken(await signingKey(' \n'), {
      p: productId(0),
      a: 0.01,
      c: 'GBP',
      u: shopper.hash,
      e: Math.floor(Date.now() / 1000) + 600,
      q: 'forged-quote-id0',
    });
    const checked = await call(
      '/v1/prices/verify',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tokens: [forged], anonymous_id: shopper.id }),
      },
      blank,
    );
    expect(checked.status).toBe(503);
    expect(((await checked.json()) as ErrorBody).error.code).toBe('signing_unavailable');
  });
});

describe('query validation: 400 naming the field', () => {
  const cases: Array<[string, string]> = [
    ['placement=everywhere', 'placement'],
    ['', 'placement'],
    ['placement=product', 'product_id'],
    ['placement=product&product_id=tab%09inside', 'product_id'],
    ['placement=product&product_id=A,B', 'product_id'],
    ['placement=product&product_id=%20%20', 'product_id'],
    [`placement=product&product_id=${'p'.repeat(257)}`, 'product_id'],
    ['placement=home&limit=0', 'limit'],
    ['placement=home&limit=51', 'limit'],
    ['placement=home&limit=ten', 'limit'],
    ['placement=home&limit=2.5', 'limit'],
    ['placement=category&category=new%0Aline', 'category'],
    // An empty entry is skipped (`A,,B`, a trailing comma: recommendations-heading.integration.test.ts); no id at all is not.
    ['placement=cart&product_ids=,', 'product_ids'],
    ['placement=home&user_id=tab%09inside', 'user_id'],
    [`placement=home&user_id=${'u'.repeat(257)}`, 'user_id'],
  ];
  for (const [query, field] of cases) {
    it(`?${query} → 400 on ${field}`, async () => {
      const response = await call(`/v1/recommendations?${query}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.details.map((d) => d.field)).toContain(field);
    });
  }

  it("an empty or blank optional parameter is absent, as DESIGN.md's URL template sends them: 200 with the defaults", async () => {
    const plain = await call('/v1/recommendations?placement=home');
    expect(plain.status).toBe(200);
    const defaultCount = ((await plain.json()) as { items: unknown[] }).items.length;
    expect(defaultCount).toBe(8);
    for (const query of [
      'placement=home&product_id=&category=&limit=',
      'placement=home&product_id=%20&product_ids=&category=%20%20&limit=%20&user_id=&user_sig=&tracking=',
      'placement=category&category=%20',
    ]) {
      const response = await call(`/v1/recommendations?${query}`);
      expect(response.status, query).toBe(200);
      expect(((await response.json()) as { items: unknown[] }).items, query).toHaveLength(defaultCount);
    }
    const priced = await call(`/v1/prices?product_ids=${productId(0)}&user_id=&user_sig=&tracking=`);
    expect(priced.status).toBe(200);
    expect(((await priced.json()) as { prices: unknown[] }).prices).toHaveLength(1);
  });

  it('an empty product_id is a missing one: required for placement product, said as when absent', async () => {
    const details = async (query: string) => {
      const response = await call(`/v1/recommendations?${query}`);
      expect(response.status, query).toBe(400);
      return ((await response.json()) as ErrorBody).error.details;
    };
    const absent = await details('placement=product');
    expect(absent).toEqual([{ field: 'product_id', reason: 'is required for placement product' }]);
    expect(await details('placement=product&product_id=')).toEqual(absent);
    expect(await details('placement=product&product_id=%20%20&limit=')).toEqual(absent);
  });

  it('an empty product_ids on /v1/prices is an error that says it is empty (it is required there)', async () => {
    for (const query of ['product_ids=', 'product_ids=%20']) {
      const response = await call(`/v1/prices?${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as ErrorBody).error.details, query).toEqual([
        { field: 'product_ids', reason: 'is empty: list at least one product id, comma-separated' },
      ]);
    }
    const absent = await call('/v1/prices');
    expect(absent.status).toBe(400);
    expect(((await absent.json()) as ErrorBody).error.details).toEqual([
      { field: 'product_ids', reason: 'is required: product ids, comma-separated' },
    ]);
  });

  it('a parameter given twice is a 400 that says so, not that its value is wrong; repeats of parameters the API does not read are ignored', async () => {
    const details = async (path: string) => {
      const response = await call(path);
      expect(response.status, path).toBe(400);
      return ((await response.json()) as ErrorBody).error.details;
    };
    const once = 'must be given once';
    expect(await details('/v1/recommendations?placement=home&placement=home')).toEqual([
      { field: 'placement', reason: once },
    ]);
    expect(await details('/v1/recommendations?placement=home&limit=4&limit=8')).toEqual([
      { field: 'limit', reason: once },
    ]);
    expect(await details(`/v1/prices?product_ids=${productId(0)}&product_ids=${productId(1)}`)).toEqual([
      { field: 'product_ids', reason: once },
    ]);
    const tagged = await call('/v1/recommendations?placement=home&utm_source=a&utm_source=b');
    expect(tagged.status).toBe(200);
  });

  it('a list element is named with its index', async () => {
    const response = await call('/v1/prices?product_ids=A1,B2,b%00d');
    const body = (await response.json()) as ErrorBody;
    expect(response.status).toBe(400);
    expect(body.error.details[0]).toMatchObject({ field: 'product_ids', index: 2 });
  });

  it('too many ids and oversized query strings are refused', async () => {
    const many = Array.from({ length: 51 }, (_, i) => `P${i}`).join(',');
    expect((await call(`/v1/prices?product_ids=${many}`)).status).toBe(400);
    const huge = await call(`/v1/recommendations?placement=home&category=${'a'.repeat(MAX_QUERY_LENGTH)}`);
    expect(huge.status).toBe(414);
    expect(((await huge.json()) as ErrorBody).error.code).toBe('query_too_long');
  });

  it('the widest id the API takes fits in its query: 256 emoji, percent-encoded, beside another id', async () => {
    const widest = '\u{1F600}'.repeat(256);
    expect(PRODUCT_ID_PATTERN.test(widest)).toBe(true);
    const response = await call(`/v1/prices?product_ids=${encodeURIComponent(widest)},P10001`);
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as { prices: Array<{ product_id: string }> };
    // Unknown to the catalogue, so not quoted; the point is that it was read, not refused with a 414.
    expect(body.prices.map((price) => price.product_id)).toEqual(['P10001']);
  });
});

describe('experiment holdout', () => {
  it('the bucket is a deterministic function of the anonymous id and the percentage', async () => {
    const ids = Array.from(
      { length: 400 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const first = await Promise.all(ids.map((id) => holdoutBucket(SITE, id, 25)));
    const again = await Promise.all(ids.map((id) => holdoutBucket(SITE, id, 25)));
    expect(again).toEqual(first);
    const share = first.filter((b) => b === 'holdout').length / ids.length;
    expect(share).toBeGreaterThan(0.17);
    expect(share).toBeLessThan(0.33);
    // Raising the percentage only moves treatment shoppers into holdout, never the other way.
    const wider = await Promise.all(ids.map((id) => holdoutBucket(SITE, id, 50)));
    first.forEach((bucket, i) => {
      if (bucket === 'holdout') expect(wider[i]).toBe('holdout');
    });
  });

  it('held-out shoppers get popularity and base prices, and touch no cache', async () => {
    const shopper = await newShopper();
    await directRedis().rpush(
      `rx:${SITE}:act:${shopper.hash}`,
      JSON.stringify({ product_id: productId(2), kind: 'view', at: Date.now() }),
    );
    const all = { HOLDOUT_PERCENT: '100' };
    const { body } = await recommend('placement=home&limit=4', { cookie: shopper.cookie }, all);
    expect(body.bucket).toBe('holdout');
    expect(body.source).toBe('popularity');
    expect(body.items[0]?.product_id).toBe(productId(0));
    expect(await directRedis().keys(`rx:${SITE}:rec:${shopper.hash}:*`)).toEqual([]);
    const product = await recommend(
      `placement=product&product_id=${productId(0)}&limit=3`,
      { cookie: shopper.cookie },
      all,
    );
    expect(product.body.items.map((i) => i.product_id)).not.toContain(productId(0));
    const response = await call(
      `/v1/prices?product_ids=${productId(1)}`,
      { headers: { cookie: shopper.cookie } },
      all,
    );
    const [quote] = ((await response.json()) as { prices: Quote[] }).prices;
    expect(quote).toMatchObject({ price: quote?.base_price, personalized: false });
  });
});

describe('shopper identity without a cookie', () => {
  it('script mode on another site may send rx_uid in x-rx-uid: no new cookie, the same shopper', async () => {
    const id = crypto.randomUUID();
    const first = await recommend('placement=home&limit=2', { 'x-rx-uid': id });
    expect(first.response.headers.get('set-cookie')).toBeNull();
    const second = await recommend('placement=home&limit=2', { 'x-rx-uid': id });
    // Same shopper, so the second answer comes from their cache entry.
    expect(second.body.cached).toBe(true);
    const malformed = await recommend('placement=home&limit=2', { 'x-rx-uid': 'not-an-id' });
    expect(malformed.response.headers.get('set-cookie')).toMatch(/^rx_uid=/);
  });
});

describe('CORS', () => {
  const shops = { SHOP_ORIGINS: 'https://shop.example, https://www.shop.example' };

  it('allows the configured shop origins, with credentials', async () => {
    const response = await call(
      '/v1/recommendations?placement=home&limit=1',
      { headers: { origin: 'https://www.shop.example' } },
      shops,
    );
    expect(response.headers.get('access-control-allow-origin')).toBe('https://www.shop.example');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('gives other origins no CORS headers, and answers preflights only for shops', async () => {
    const other = await call(
      '/v1/recommendations?placement=home&limit=1',
      { headers: { origin: 'https://evil.example' } },
      shops,
    );
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await call(
      '/v1/prices/verify',
      {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
      },
      shops,
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    // The plugin's id headers, or browsers would refuse its cross-site calls.
    expect(preflight.headers.get('access-control-allow-headers')?.split(/\s*,\s*/)).toEqual(
      expect.arrayContaining(['x-rx-uid', 'x-rx-uid-new', 'x-rx-user-id', 'x-rx-user-sig']),
    );
  });
});
