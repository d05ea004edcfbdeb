import { z } from 'zod';
import { fromBase64Url, toBase64Url } from './base64url';

/**
 * Price tokens: `v1.<payload>.<mac>`, both base64url; the MAC is HMAC-SHA256 with `PRICE_SIGNING_KEY`
 * over `v1.<payload>`. The payload binds product, price, currency, shopper (the hashed id, never the
 * raw one: the token is visible to the browser) and expiry, so checkout can honour exactly that price
 * for exactly that shopper until then.
 */
export const TOKEN_VERSION = 'v1';

export const PriceClaimsSchema = z.object({
  /** product id */
  p: z.string().min(1),
  /** price */
  a: z.number().nonnegative(),
  /** currency (ISO 4217) */
  c: z.string().length(3),
  /** userHash of the shopper it was quoted to */
  u: z.string().min(1),
  /** expiry, epoch seconds */
  e: z.number().int(),
});
export type PriceClaims = z.infer<typeof PriceClaimsSchema>;

/** Why a token is not valid; checkout may show different messages for each. */
export type TokenRejection = 'malformed' | 'bad_signature' | 'expired' | 'other_user';

export type TokenCheck =
  | { valid: true; claims: PriceClaims }
  | { valid: false; reason: TokenRejection; claims?: PriceClaims };

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for a secret, imported once per isolate. */
export function signingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keys.set(secret, key);
  }
  return key;
}

export async function signPriceToken(key: CryptoKey, claims: PriceClaims): Promise<string> {
  const signed = `${TOKEN_VERSION}.${toBase64Url(new TextEncoder().encode(JSON.stringify(claims)))}`;
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(signed)));
  return `${signed}.${toBase64Url(mac)}`;
}

/**
 * Verifies a token for a shopper at a time. The MAC is checked with `crypto.subtle.verify` (constant
 * time) before anything in the payload is believed; expiry and shopper are checked after. `userHash`
 * may list several hashes of one shopper (a logged-in shopper's and their anonymous session's: a
 * price quoted before login names the anonymous one); the token must name one of them.
 */
export async function verifyPriceToken(
  key: CryptoKey,
  token: string,
  userHash: string | readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<TokenCheck> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_VERSION) return { valid: false, reason: 'malformed' };
  const [version, payload = '', macText = ''] = parts;
  const mac = fromBase64Url(macText);
  const payloadBytes = fromBase64Url(payload);
  if (!mac || !payloadBytes || mac.byteLength !== 32) return { valid: false, reason: 'malformed' };
  const authentic = await crypto.subtle.verify(
    'HMAC',
    key,
    mac,
    new TextEncoder().encode(`${version}.${payload}`),
  );
  if (!authentic) return { valid: false, reason: 'bad_signature' };
  let claims: PriceClaims;
  try {
    const parsed = PriceClaimsSchema.safeParse(JSON.parse(new TextDecoder().decode(payloadBytes)));
    if (!parsed.success) return { valid: false, reason: 'malformed' };
    claims = parsed.data;
  } catch {
    return { valid: false, reason: 'malformed' };
  }
  if (claims.e <= nowSeconds) return { valid: false, reason: 'expired', claims };
  const shopper = typeof userHash === 'string' ? [userHash] : userHash;
  if (!shopper.includes(claims.u)) return { valid: false, reason: 'other_user', claims };
  return { valid: true, claims };
}
