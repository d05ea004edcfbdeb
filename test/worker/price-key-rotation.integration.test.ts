import { describe, expect, it } from 'vitest';
import type { Env } from '../../worker/src/env';
import { signingKey, signPriceToken } from '../../worker/src/prices';
import { call, newShopper, PRICE_SIGNING_KEY, SITE } from './edge-api-support';

/**
 * Rotating the price signing key (docs/api.md "Rotating the price signing key"): tokens name their key,
 * the worker signs with PRICE_SIGNING_KEY and verifies with it or PRICE_SIGNING_KEY_PREVIOUS.
 */

/** A product of the built-in bundle (these tests publish none). */
const PRODUCT = '85123A';
/** The key before the rotation is the tests' usual one; this is the one after it. */
const OLD_KEY = PRICE_SIGNING_KEY;
const NEW_KEY = 'test-price-signing-key-rotated-9876543210';
const BEFORE: Partial<Env> = {};
const DURING: Partial<Env> = { PRICE_SIGNING_KEY: NEW_KEY, PRICE_SIGNING_KEY_PREVIOUS: OLD_KEY };
const AFTER: Partial<Env> = { PRICE_SIGNING_KEY: NEW_KEY };

interface VerifyResult {
  index: number;
  valid: boolean;
  reason?: string;
  product_id?: string;
  price?: number;
  quote_id?: string;
}

async function quote(cookie: string, env: Partial<Env>): Promise<string> {
  const response = await call(`/v1/prices?product_ids=${PRODUCT}`, { headers: { cookie } }, env);
  expect(response.status).toBe(200);
  const { prices } = (await response.json()) as { prices: Array<{ token: string | null }> };
  const token = prices[0]?.token;
  if (!token) throw new Error('no price token');
  return token;
}

async function verify(tokens: string[], anonymousId: string, env: Partial<Env>) {
  const response = await call(
    '/v1/prices/verify',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tokens, anonymous_id: anonymousId }),
    },
    env,
  );
  return {
    status: response.status,
    body: (await response.json()) as { valid: number; results: VerifyResult[] },
  };
}

async function reasons(tokens: string[], anonymousId: string, env: Partial<Env>) {
  const { status, body } = await verify(tokens, anonymousId, env);
  expect(status).toBe(200);
  return body.results.map((r) => r.reason ?? 'valid');
}

/** The documented key id, computed here independently: hex of HMAC-SHA256(key, "rx price key id")[0..6]. */
async function expectedKeyId(secret: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode('rx price key id')));
  return [...mac.slice(0, 6)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function base64url(text: string): string {
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** A token in the format before key ids, `v1.<payload>.<mac>` with the MAC over `v1.<payload>`, as it was signed. */
async function legacyToken(secret: string, claims: Record<string, unknown>): Promise<string> {
  const signed = `v1.${base64url(JSON.stringify(claims))}`;
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', await signingKey(secret), new TextEncoder().encode(signed)),
  );
  return `${signed}.${base64url(String.fromCharCode(...mac))}`;
}

/** The shopper hash before USER_HASH_KEY: hex of the first 128 bits of SHA-256 of `site \n id`. */
async function plainHash(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...digest.slice(0, 16)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function withKeyId(token: string, kid: string): string {
  const [version, , payload, mac] = token.split('.');
  return `${version}.${kid}.${payload}.${mac}`;
}

describe('price tokens name the key that signed them', () => {
  it('carry a key id derived from the key (never the key), which changes with the key', async () => {
    const shopper = await newShopper();
    const before = await quote(shopper.cookie, BEFORE);
    const during = await quote(shopper.cookie, DURING);
    expect(before).toMatch(/^v2\.[0-9a-f]{12}\.[\w-]+\.[\w-]+$/);
    expect(before.split('.')[1]).toBe(await expectedKeyId(OLD_KEY));
    // Signed with the current key only, even while the previous one is configured.
    expect(during.split('.')[1]).toBe(await expectedKeyId(NEW_KEY));
    for (const token of [before, during]) {
      for (const secret of [OLD_KEY, NEW_KEY]) {
        expect(token).not.toContain(secret);
        expect(token).not.toContain(base64url(secret));
      }
    }
  });
});

describe('rotating PRICE_SIGNING_KEY', () => {
  it('a token signed with the old key verifies after the switch while the old key is PRICE_SIGNING_KEY_PREVIOUS, and is unknown_key once it is not', async () => {
    const shopper = await newShopper();
    const old = await quote(shopper.cookie, BEFORE);
    const fresh = await quote(shopper.cookie, DURING);
    const during = await verify([old, fresh], shopper.id, DURING);
    expect(during.status).toBe(200);
    expect(during.body.valid).toBe(2);
    expect(during.body.results[0]).toMatchObject({ valid: true, product_id: PRODUCT });
    // Previous key removed (or never set): the old key's tokens are named, and refused, as such.
    expect(await reasons([old, fresh], shopper.id, AFTER)).toEqual(['unknown_key', 'valid']);
    expect(await reasons([old], shopper.id, { ...AFTER, PRICE_SIGNING_KEY_PREVIOUS: '' })).toEqual([
      'unknown_key',
    ]);
    // Rolled back to the old key: the new key's tokens are the unknown ones.
    expect(await reasons([old, fresh], shopper.id, BEFORE)).toEqual(['valid', 'unknown_key']);
    // The previous key alone signs and verifies nothing.
    const noCurrent = await verify([old], shopper.id, {
      PRICE_SIGNING_KEY: '',
      PRICE_SIGNING_KEY_PREVIOUS: OLD_KEY,
    });
    expect(noCurrent.status).toBe(503);
  });

  it('tokens minted before key ids (v1) are malformed, whatever keys are held and whichever hash they name', async () => {
    const shopper = await newShopper();
    const claims = {
      p: PRODUCT,
      a: 2.55,
      c: 'GBP',
      // What a v1 token really carried: the plain SHA-256 hash of that time, which no shopper's keyed
      // userHash can match...
      u: await plainHash(`${SITE}\n${shopper.id}`),
      e: Math.floor(Date.now() / 1000) + 1800,
    };
    const minted = await legacyToken(OLD_KEY, claims);
    // ...and one naming today's hash, authentic under a held key: refused all the same.
    const namingToday = await legacyToken(OLD_KEY, { ...claims, u: shopper.hash });
    for (const env of [BEFORE, DURING, AFTER]) {
      const { status, body } = await verify([minted, namingToday], shopper.id, env);
      expect(status).toBe(200);
      expect(body.results).toEqual([
        { index: 0, valid: false, reason: 'malformed' },
        { index: 1, valid: false, reason: 'malformed' },
      ]);
      expect(body.valid).toBe(0);
    }
  });
});

describe('key ids that do not hold', () => {
  it('a token whose key id was changed is refused: bad_signature for a held key, unknown_key for another, malformed for no key id', async () => {
    const shopper = await newShopper();
    const token = await quote(shopper.cookie, DURING);
    // Claimed to come from the previous key, which is held but did not sign it: the MAC covers the id.
    const other = withKeyId(token, await expectedKeyId(OLD_KEY));
    const unknown = withKeyId(token, '0123456789ab');
    const broken = ['', 'ZZZZZZZZZZZZ', '0123456789AB', '0123456789abc'].map((kid) => withKeyId(token, kid));
    const { body } = await verify([other, unknown, ...broken, token], shopper.id, DURING);
    expect(body.results.map((r) => r.reason ?? 'valid')).toEqual([
      'bad_signature',
      'unknown_key',
      'malformed',
      'malformed',
      'malformed',
      'malformed',
      'valid',
    ]);
    // Claims are echoed only for the authentic token.
    expect(body.results.slice(0, -1).every((r) => r.product_id === undefined)).toBe(true);
    expect(body.valid).toBe(1);
  });

  it('a token signed with a key the worker never held is unknown_key, whatever keys it holds', async () => {
    const shopper = await newShopper();
    const foreign = await signPriceToken(await signingKey('a-key-the-worker-never-had'), {
      p: PRODUCT,
      a: 0.01,
      c: 'GBP',
      u: shopper.hash,
      e: Math.floor(Date.now() / 1000) + 1800,
    });
    for (const env of [BEFORE, DURING, AFTER]) {
      const { body } = await verify([foreign], shopper.id, env);
      expect(body.results[0]).toEqual({ index: 0, valid: false, reason: 'unknown_key' });
    }
  });
});

describe('quote ids', () => {
  it('each token carries a quote id of its own, which verify returns for the checkout to log', async () => {
    const shopper = await newShopper();
    const [first, second] = await Promise.all([quote(shopper.cookie, BEFORE), quote(shopper.cookie, BEFORE)]);
    expect(first).not.toBe(second);
    const { body } = await verify([first ?? '', second ?? ''], shopper.id, BEFORE);
    expect(body.valid).toBe(2);
    const ids = body.results.map((r) => r.quote_id);
    expect(ids[0]).toMatch(/^[\w-]{16}$/);
    expect(ids[1]).toMatch(/^[\w-]{16}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
