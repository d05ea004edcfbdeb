/**
 * The price token's own rules, checked on verifyPriceToken, priceKeyring and getPrices directly: the
 * edges the route tests do not reach (a token expiring this very second, an authentic token of a
 * shape the worker never signs, a blank previous key, the quote's lifetime).
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  getPrices,
  MAX_TOKEN_CHARS,
  type PriceClaims,
  priceKeyring,
  signingKey,
  signPriceToken,
  verifyPriceToken,
} from '../../worker/src/prices';
import { fromBase64Url, toBase64Url } from '../../worker/src/prices/base64url';
import { edgeEnv } from './edge-api-support';

const SHOPPER = 'a'.repeat(32);
const NOW = 2_000_000_000;
const claims = (overrides: Partial<PriceClaims> = {}): PriceClaims => ({
  p: 'P1',
  a: 9.5,
  c: 'GBP',
  u: SHOPPER,
  e: NOW + 60,
  q: 'quote-id-0000001',
  ...overrides,
});
const key = () => signingKey('prices-token-rules-key');

describe('verifyPriceToken', () => {
  it('a token is expired at its expiry second, and valid the second before', async () => {
    const token = await signPriceToken(await key(), claims({ e: NOW }));
    expect(await verifyPriceToken(await key(), token, SHOPPER, NOW)).toMatchObject({
      valid: false,
      reason: 'expired',
    });
    expect((await verifyPriceToken(await key(), token, SHOPPER, NOW - 1)).valid).toBe(true);
  });

  it('an authentic token longer than any the worker signs is malformed, unread', async () => {
    // Signed with the real key, so only the length rule can refuse it.
    const long = await signPriceToken(await key(), claims({ p: 'x'.repeat(MAX_TOKEN_CHARS) }));
    expect(long.length).toBeGreaterThan(MAX_TOKEN_CHARS);
    expect(await verifyPriceToken(await key(), long, SHOPPER, NOW)).toEqual({
      valid: false,
      reason: 'malformed',
    });
  });

  it('an authentic token with anything after its MAC, or a MAC cut short, is malformed', async () => {
    const token = await signPriceToken(await key(), claims());
    expect((await verifyPriceToken(await key(), token, SHOPPER, NOW)).valid).toBe(true);
    const [signed, mac] = [token.slice(0, token.lastIndexOf('.')), token.slice(token.lastIndexOf('.') + 1)];
    // Half the MAC, spelt canonically: only the MAC's length tells it from a bad signature.
    const half = `${signed}.${toBase64Url(fromBase64Url(mac)?.slice(0, 16) ?? new Uint8Array())}`;
    for (const bent of [`${token}.extra`, half]) {
      expect(await verifyPriceToken(await key(), bent, SHOPPER, NOW)).toEqual({
        valid: false,
        reason: 'malformed',
      });
    }
  });
});

describe('priceKeyring', () => {
  it('a blank PRICE_SIGNING_KEY_PREVIOUS is no key: a token signed with it is unknown_key', async () => {
    const ring = await priceKeyring({
      PRICE_SIGNING_KEY: 'current-key-0123',
      PRICE_SIGNING_KEY_PREVIOUS: ' \n',
    });
    expect(ring?.previous).toBeUndefined();
    const forged = await signPriceToken(await signingKey(' \n'), claims({ a: 0.01 }));
    expect(ring && (await verifyPriceToken(ring, forged, SHOPPER, NOW))).toMatchObject({
      reason: 'unknown_key',
    });
  });
});

describe('getPrices', () => {
  it('quotes a price for 30 minutes (docs/api.md), once per id however often it is asked for', async () => {
    const now = 1_800_000_000_000;
    const ctx = createExecutionContext();
    const quotes = await getPrices(
      edgeEnv(),
      ctx,
      { userHash: SHOPPER, hashed: true },
      ['85123A', '85123A'],
      {
        now,
      },
    );
    await waitOnExecutionContext(ctx);
    expect(quotes).toHaveLength(1);
    expect(quotes[0]?.expires_at).toBe(new Date(now + 30 * 60_000).toISOString());
    const [, , payload] = (quotes[0]?.token ?? '').split('.');
    const signed = JSON.parse(atob((payload ?? '').replaceAll('-', '+').replaceAll('_', '/'))) as PriceClaims;
    expect(signed.e).toBe(now / 1000 + 30 * 60);
  });
});
