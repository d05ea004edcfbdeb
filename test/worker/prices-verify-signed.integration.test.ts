/**
 * With USER_ID_SECRET set, `POST /v1/prices/verify` takes a user id in its body only with its
 * signature, as every route takes one from the query or headers. A price token sits in the page
 * (`data-rx-price-token`) and names its shopper by pseudonym; verify answers whether a user id is the
 * one behind it, and the route is not rate limited. Unsigned, anyone holding a token could try guesses
 * (email addresses, small numbers) until one verified and learn who the shopper is.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../worker/src/prices/base64url';
import { signUserId } from '../../worker/src/shopper/user-signature';
import { call, newShopper, PRICE_SIGNING_KEY } from './edge-api-support';

const SIGNED = { USER_ID_SECRET: 'test-user-id-secret-for-verify' };
/** A product of the built-in bundle (these tests publish none). */
const PRODUCT = '85123A';

async function quoteFor(userId: string): Promise<string> {
  const signature = await signUserId(SIGNED.USER_ID_SECRET, userId);
  const shopper = await newShopper();
  const response = await call(
    `/v1/prices?product_ids=${PRODUCT}&user_id=${encodeURIComponent(userId)}&user_sig=${signature}`,
    { headers: { cookie: shopper.cookie } },
    SIGNED,
  );
  expect(response.status).toBe(200);
  const token = ((await response.json()) as { prices: Array<{ token: string | null }> }).prices[0]?.token;
  if (!token) throw new Error('no price token');
  return token;
}

function verify(
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  env: { USER_ID_SECRET?: string } = SIGNED,
) {
  return call(
    '/v1/prices/verify',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    },
    env,
  );
}

interface ErrorBody {
  error: { code: string; details?: Array<{ field?: string }> };
}

describe('POST /v1/prices/verify with USER_ID_SECRET', () => {
  it("refuses a body's user id without its signature: a token's holder cannot test guesses of who it names", async () => {
    const userId = 'jane.doe@example.com';
    const token = await quoteFor(userId);
    for (const guess of ['john@example.com', userId]) {
      const response = await verify({ tokens: [token], user_id: guess });
      expect(response.status).toBe(403);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code).toBe('user_signature_required');
      expect(body.error.details?.[0]?.field).toBe('user_sig');
      // Nothing in the answer tells a right guess from a wrong one.
      expect(JSON.stringify(body)).not.toContain('valid');
    }
  });

  it('refuses a signature of another id (403 user_signature_invalid) and one that is not hex (400)', async () => {
    const token = await quoteFor('u-1001');
    const wrong = await verify({
      tokens: [token],
      user_id: 'u-1001',
      user_sig: await signUserId(SIGNED.USER_ID_SECRET, 'u-1002'),
    });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as ErrorBody).error.code).toBe('user_signature_invalid');
    const malformed = await verify({ tokens: [token], user_id: 'u-1001', user_sig: 'not-hex' });
    expect(malformed.status).toBe(400);
    const body = (await malformed.json()) as ErrorBody;
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.details?.[0]?.field).toBe('user_sig');
  });

  it("verifies for the checkout's server, which signs the id (in the body or in x-rx-user-sig)", async () => {
    const userId = 'u-4711';
    const token = await quoteFor(userId);
    const user_sig = await signUserId(SIGNED.USER_ID_SECRET, userId);
    const inBody = await verify({ tokens: [token], user_id: userId, user_sig });
    expect(inBody.status).toBe(200);
    expect(((await inBody.json()) as { valid: number }).valid).toBe(1);
    const inHeader = await verify({ tokens: [token], user_id: userId }, { 'x-rx-user-sig': user_sig });
    expect(inHeader.status).toBe(200);
    expect(((await inHeader.json()) as { valid: number }).valid).toBe(1);
  });

  it('still takes an anonymous id alone, which needs no signature', async () => {
    const token = await quoteFor('u-5150');
    const response = await verify({ tokens: [token], anonymous_id: (await newShopper()).id });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { results: Array<{ reason?: string }> }).results[0]?.reason).toBe(
      'other_user',
    );
  });

  it("without USER_ID_SECRET a user id is the caller's word, as on every route", async () => {
    const shopper = await newShopper();
    const quoted = await call(`/v1/prices?product_ids=${PRODUCT}&user_id=u-9`, {
      headers: { cookie: shopper.cookie },
    });
    const token = ((await quoted.json()) as { prices: Array<{ token: string }> }).prices[0]?.token;
    const response = await verify({ tokens: [token], user_id: 'u-9' }, {}, {});
    expect(response.status).toBe(200);
    expect(((await response.json()) as { valid: number }).valid).toBe(1);
  });
});

describe('POST /v1/prices/verify with USER_ID_SECRET equal to a price signing key', () => {
  /**
   * What an attacker makes of a quote: its signed part with the price of their choosing, sent as a
   * "user id" for the shop's server to sign (hex HMAC under USER_ID_SECRET) at a sign-up, say; that
   * signature in base64url is the token's MAC whenever USER_ID_SECRET is the price key.
   */
  async function forge(token: string, userIdSecret: string): Promise<string> {
    const [version, keyId, payload] = token.split('.');
    const claims = JSON.parse(new TextDecoder().decode(fromBase64Url(payload ?? ''))) as { a: number };
    const cheaper = toBase64Url(new TextEncoder().encode(JSON.stringify({ ...claims, a: 0.01 })));
    const signed = `${version}.${keyId}.${cheaper}`;
    const userSig = await signUserId(userIdSecret, signed);
    const mac = Uint8Array.from(userSig.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
    return `${signed}.${toBase64Url(mac)}`;
  }

  it('honours no token (503 signing_unavailable): a user id signed under that secret is a token of any price', async () => {
    const userId = 'u-shared';
    const token = await quoteFor(userId);
    const shared = { USER_ID_SECRET: PRICE_SIGNING_KEY };
    const response = await verify(
      {
        tokens: [await forge(token, PRICE_SIGNING_KEY)],
        user_id: userId,
        user_sig: await signUserId(PRICE_SIGNING_KEY, userId),
      },
      {},
      shared,
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as ErrorBody).error.code).toBe('signing_unavailable');
    // With a secret of its own the same forgery is what it is: a bad signature.
    const apart = await verify({
      tokens: [await forge(token, SIGNED.USER_ID_SECRET)],
      user_id: userId,
      user_sig: await signUserId(SIGNED.USER_ID_SECRET, userId),
    });
    expect(((await apart.json()) as { results: Array<{ reason?: string }> }).results[0]?.reason).toBe(
      'bad_signature',
    );
  });
});
