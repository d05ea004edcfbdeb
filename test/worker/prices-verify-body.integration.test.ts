/**
 * `POST /v1/prices/verify` bodies as checkout servers send them, and tokens as long as the worker
 * signs them. A guest's `"user_id": null` (or `""`), a customer id kept as a number (`4711`) and
 * `"anonymous_id": null` are read as events read them (contracts/events.ts): each was a 400 for the
 * whole request, so no token of the cart was checked. A token carries its product id whole, and ids
 * may be 256 characters of any script: the worker's own token for such an id was over the old
 * 1,024-character cap, and the whole batch was refused.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUERY_LENGTH, PRODUCT_ID_PATTERN, type PriceQuote } from '../../contracts/api-types';
import type { Env } from '../../worker/src/env';
import { MAX_TOKEN_CHARS, newQuoteId, signingKey, signPriceToken } from '../../worker/src/prices';
import { MAX_TOKENS, MAX_VERIFY_BODY_BYTES } from '../../worker/src/routes/prices';
import { signUserId } from '../../worker/src/shopper/user-signature';
import { ADMIN_TOKEN, call, newShopper, PRICE_SIGNING_KEY, provided } from './edge-api-support';

/** A product of the built-in bundle. */
const PRODUCT = '85123A';
const SIGNED = { USER_ID_SECRET: 'test-user-id-secret-for-verify-body' };

interface VerifyBody {
  valid: number;
  results: Array<{ index: number; valid: boolean; reason?: string; product_id?: string }>;
}
interface ErrorBody {
  error: { code: string; details: Array<{ field: string; reason: string }> };
}

async function quote(query: string, headers: Record<string, string> = {}, env: Partial<Env> = {}) {
  const response = await call(`/v1/prices?${query}`, { headers }, env);
  expect(response.status).toBe(200);
  const { prices } = (await response.json()) as { prices: PriceQuote[] };
  return prices;
}

async function tokenOf(query: string, headers: Record<string, string> = {}, env: Partial<Env> = {}) {
  const token = (await quote(query, headers, env))[0]?.token;
  if (!token) throw new Error('no price token');
  return token;
}

async function verify(body: unknown, env: Partial<Env> = {}) {
  const response = await call(
    '/v1/prices/verify',
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    env,
  );
  return { status: response.status, body: (await response.json()) as VerifyBody & ErrorBody };
}

describe('POST /v1/prices/verify: shopper fields as checkout servers send them', () => {
  it('reads `null` and `""` as absent: a guest checkout verifies its anonymous tokens', async () => {
    const shopper = await newShopper();
    const token = await tokenOf(`product_ids=${PRODUCT}`, { cookie: shopper.cookie });
    for (const guest of [
      { user_id: null, anonymous_id: shopper.id },
      { user_id: '', anonymous_id: shopper.id },
      { user_id: null, user_sig: null, anonymous_id: shopper.id },
      { user_id: '', user_sig: '', anonymous_id: shopper.id },
    ]) {
      const { status, body } = await verify({ tokens: [token], ...guest });
      expect({ guest, status }).toEqual({ guest, status: 200 });
      expect(body.results[0]).toMatchObject({ valid: true, product_id: PRODUCT });
    }
    // `"anonymous_id": null` beside a user id: that user's tokens.
    const user = await tokenOf(`product_ids=${PRODUCT}&user_id=u-guest-null`, { cookie: shopper.cookie });
    const named = await verify({ tokens: [user, token], user_id: 'u-guest-null', anonymous_id: null });
    expect(named.status).toBe(200);
    expect(named.body.results.map((r) => r.valid)).toEqual([true, false]);
  });

  it('takes a whole-number user id as its decimal string: a token quoted for user_id=4711 verifies', async () => {
    const shopper = await newShopper();
    const token = await tokenOf(`product_ids=${PRODUCT}&user_id=4711`, { cookie: shopper.cookie });
    const { status, body } = await verify({ tokens: [token], user_id: 4711 });
    expect(status).toBe(200);
    expect(body.results[0]).toMatchObject({ valid: true, product_id: PRODUCT });
    // Another number is another user.
    expect((await verify({ tokens: [token], user_id: 4712 })).body.results[0]?.reason).toBe('other_user');
  });

  it('with USER_ID_SECRET, a number user id is taken with the signature of its decimal string', async () => {
    const signature = await signUserId(SIGNED.USER_ID_SECRET, '4711');
    const shopper = await newShopper();
    const token = await tokenOf(
      `product_ids=${PRODUCT}&user_id=4711&user_sig=${signature}`,
      { cookie: shopper.cookie },
      SIGNED,
    );
    const signed = await verify({ tokens: [token], user_id: 4711, user_sig: signature }, SIGNED);
    expect(signed.status).toBe(200);
    expect(signed.body.valid).toBe(1);
    const unsigned = await verify({ tokens: [token], user_id: 4711 }, SIGNED);
    expect(unsigned.status).toBe(403);
    expect(unsigned.body.error.code).toBe('user_signature_required');
    const otherSignature = await signUserId(SIGNED.USER_ID_SECRET, '4712');
    const wrong = await verify({ tokens: [token], user_id: 4711, user_sig: otherSignature }, SIGNED);
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('user_signature_invalid');
  });

  it('still refuses, naming user_id, a number that is no whole number within 2^53 - 1, an object or a boolean', async () => {
    for (const user_id of [4711.5, 2 ** 53, -(2 ** 53), { id: 4711 }, true, ['4711']]) {
      const { status, body } = await verify({ tokens: ['x'], user_id });
      expect({ user_id, status }).toEqual({ user_id, status: 400 });
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.details[0]?.field).toBe('user_id');
    }
    expect((await verify({ tokens: ['x'], user_id: 4711.5 })).body.error.details[0]?.reason).toMatch(
      /whole number/,
    );
    // And an anonymous id that is not an rx_uid, and a signature that is not one, as before.
    expect((await verify({ tokens: ['x'], anonymous_id: 42 })).body.error.details[0]?.field).toBe(
      'anonymous_id',
    );
    expect((await verify({ tokens: ['x'], user_id: 'u', user_sig: 'ab' })).body.error.details[0]?.field).toBe(
      'user_sig',
    );
  });
});

/**
 * A catalogue whose first item's id is as long as ids get: 256 CJK letters (9 characters each,
 * percent-encoded; GET /v1/prices refused it as over 2,048 bytes of query string until the limit
 * became 4,096).
 */
const LONG_ID = '商'.repeat(256);

const fromBase64 = (base64: string) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, '0')).join('');

/** Publishes the v1 fixture bundle with item 0's product id changed to `productId`, as `version`. */
async function publishWithProductId(version: string, productId: string): Promise<void> {
  const files = { ...provided().bundles.v1 };
  const decoder = new TextDecoder();
  const catalogue = JSON.parse(decoder.decode(fromBase64(files['catalogue.json'] ?? ''))) as {
    items: Array<{ product_id: string }>;
  };
  const first = catalogue.items[0];
  if (!first) throw new Error('empty fixture catalogue');
  first.product_id = productId;
  const catalogueBytes = new TextEncoder().encode(JSON.stringify(catalogue));
  const manifest = JSON.parse(decoder.decode(fromBase64(files['manifest.json'] ?? '')));
  manifest.version = version;
  manifest.catalogue.sha256 = hex(await crypto.subtle.digest('SHA-256', catalogueBytes));
  const bytes: Record<string, Uint8Array> = {};
  for (const [name, base64] of Object.entries(files)) bytes[name] = fromBase64(base64);
  bytes['catalogue.json'] = catalogueBytes;
  bytes['manifest.json'] = new TextEncoder().encode(JSON.stringify(manifest));
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  for (const [name, body] of Object.entries(bytes)) {
    const response = await call(`/admin/models/${version}/${name}`, { method: 'PUT', headers: auth, body });
    expect(response.status, `${name}: ${await response.clone().text()}`).toBe(201);
  }
  const activated = await call(`/admin/models/${version}/activate`, { method: 'POST', headers: auth });
  expect(activated.status, await activated.clone().text()).toBe(200);
}

/** Another item of that catalogue (the fixture's item 1). */
const OTHER = 'P10001';

describe('POST /v1/prices/verify: tokens as long as the worker signs them', () => {
  beforeAll(async () => {
    await publishWithProductId('fixture-long-id', LONG_ID);
  }, 120_000);

  it("verifies the worker's own token for a long id of CJK letters beside a normal one", async () => {
    expect(PRODUCT_ID_PATTERN.test(LONG_ID)).toBe(true);
    const shopper = await newShopper();
    const query = `product_ids=${encodeURIComponent(LONG_ID)},${OTHER}`;
    expect(query.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
    const prices = await quote(query, { cookie: shopper.cookie });
    expect(prices.map((p) => p.product_id)).toEqual([LONG_ID, OTHER]);
    const tokens = prices.map((p) => p.token ?? '');
    // Over the cap verify had (1,024 characters): the whole batch was a 400.
    expect(tokens[0]?.length).toBeGreaterThan(1024);
    expect(tokens[0]?.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
    const { status, body } = await verify({ tokens, anonymous_id: shopper.id });
    expect(status).toBe(200);
    expect(body.results.map((r) => [r.valid, r.product_id])).toEqual([
      [true, LONG_ID],
      [true, OTHER],
    ]);
  });

  it('MAX_TOKEN_CHARS holds a token of the widest id the API takes; the id limit is where it came from', async () => {
    const key = await signingKey(PRICE_SIGNING_KEY);
    const shopper = await newShopper();
    // 256 code points of 4 UTF-8 bytes each: the most bytes an id the API takes can be.
    const widest = '\u{1F600}'.repeat(256);
    expect(PRODUCT_ID_PATTERN.test(widest)).toBe(true);
    expect(PRODUCT_ID_PATTERN.test(`${widest}x`)).toBe(false);
    const claims = { a: 1234567.89, c: 'GBP', u: shopper.hash, e: Math.floor(Date.now() / 1000) + 1800 };
    const cjk = await signPriceToken(key, { ...claims, p: '商'.repeat(256), q: newQuoteId() });
    const emoji = await signPriceToken(key, { ...claims, p: widest, q: newQuoteId() });
    const quoted = await signPriceToken(key, { ...claims, p: '"\\'.repeat(128), q: newQuoteId() });
    for (const token of [cjk, emoji, quoted]) expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
    const { status, body } = await verify({ tokens: [cjk, emoji, quoted], anonymous_id: shopper.id });
    expect(status).toBe(200);
    expect(body.valid).toBe(3);
  });

  it('answers a token it cannot read, or one longer than any it signs, `malformed` at its index and checks the rest', async () => {
    const shopper = await newShopper();
    const good = await tokenOf(`product_ids=${OTHER}`, { cookie: shopper.cookie });
    const oversize = `v2.${'a'.repeat(MAX_TOKEN_CHARS)}`;
    const { status, body } = await verify({
      tokens: [oversize, good, '', null, 42, { token: good }],
      anonymous_id: shopper.id,
    });
    expect(status).toBe(200);
    expect(body.results.map((r) => r.reason ?? 'valid')).toEqual([
      'malformed',
      'valid',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
    ]);
    expect(body.valid).toBe(1);
    // The list itself is still checked: not a list, none, or over MAX_TOKENS is a 400 naming tokens.
    for (const tokens of [good, [], Array(MAX_TOKENS + 1).fill(good)]) {
      const refused = await verify({ tokens, anonymous_id: shopper.id });
      expect(refused.status).toBe(400);
      expect(refused.body.error.details[0]?.field).toBe('tokens');
    }
  });

  it('takes MAX_TOKENS of the longest tokens, spelt out with spacing and long ids, under the body limit', async () => {
    const shopper = await newShopper();
    const good = await tokenOf(`product_ids=${OTHER}`, { cookie: shopper.cookie });
    const longest = `v2.${'a'.repeat(MAX_TOKEN_CHARS - 3)}`;
    const tokens = [...Array(MAX_TOKENS - 1).fill(longest), good];
    // Pretty-printed, with a user id of 256 astral characters written as \u escapes (12 bytes each).
    const userId = '\u{1F600}'.repeat(256);
    const text = JSON.stringify({ tokens, anonymous_id: shopper.id, user_id: userId }, null, 2).replace(
      /\u{1F600}/gu,
      '\\ud83d\\ude00',
    );
    expect(new TextEncoder().encode(text).byteLength).toBeLessThanOrEqual(MAX_VERIFY_BODY_BYTES);
    const response = await call('/v1/prices/verify', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: text,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as VerifyBody;
    expect(body.results).toHaveLength(MAX_TOKENS);
    expect(body.results.slice(0, -1).every((r) => r.reason === 'malformed')).toBe(true);
    // The anonymous id's token; the user id named beside it is another identity, and that is fine.
    expect(body.results.at(-1)?.valid).toBe(true);
  });
});
