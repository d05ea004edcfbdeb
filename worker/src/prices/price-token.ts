import { z } from 'zod';
import { MAX_ID_CHARS } from '../../../contracts/events';
import { toHex } from '../hex';
import { fromBase64Url, toBase64Url } from './base64url';

/**
 * Price tokens: `v2.<kid>.<payload>.<mac>`. `kid` names the key that signed the token (see `keyId`),
 * `payload` is base64url JSON claims and `mac` base64url HMAC-SHA256 over `v2.<kid>.<payload>`, so the
 * key id is as tamper-proof as the claims. The payload binds product, price, currency, shopper (the
 * hashed id, never the raw one: the token is visible to the browser), expiry and a random quote id, so
 * checkout can honour exactly that price for exactly that shopper until then.
 *
 * Key rotation: tokens are signed with `PRICE_SIGNING_KEY` and verified with it or with
 * `PRICE_SIGNING_KEY_PREVIOUS`, the one named by the token's key id; a token naming neither is
 * `unknown_key`.
 *
 * Tokens of the format before key ids (`v1.<payload>.<mac>`) are `malformed`: not a format this worker
 * reads. None could verify anyway: their `u` is the unkeyed SHA-256 hash of that time, and shoppers are
 * named by the keyed `userHash` since the same change, so each would be `other_user`; `malformed` says
 * it without checking a MAC for a token that cannot be honoured (checkout re-quotes or charges the base
 * price, as for any refused token).
 */
export const TOKEN_VERSION = 'v2';

export const PriceClaimsSchema = z.object({
  /** product id */
  p: z.string().min(1),
  /** price */
  a: z.number().nonnegative(),
  /** currency (ISO 4217) */
  c: z.string().length(3),
  /**
   * userHash of the shopper it was quoted to: of their user id when logged in, else of their anonymous id
   * (two kinds that never share a hash: shopper/user-hash.ts)
   */
  u: z.string().min(1),
  /** expiry, epoch seconds */
  e: z.number().int(),
  /**
   * Quote id: random, one per token, so that two quotes of the same price to the same shopper in the
   * same second are still told apart, and a checkout can log (or, in its own order store, refuse a
   * second use of) the quote it honoured. Every token this worker signs has one.
   */
  q: z.string().min(1).max(64).optional(),
});
export type PriceClaims = z.infer<typeof PriceClaimsSchema>;

/**
 * Why a token is not valid; checkout may show different messages for each. `unknown_key`: the token
 * names a signing key the worker does not hold (rotated out, or never its own), so it cannot be checked.
 */
export type TokenRejection = 'malformed' | 'bad_signature' | 'unknown_key' | 'expired' | 'other_user';

export type TokenCheck =
  | { valid: true; claims: PriceClaims }
  | { valid: false; reason: TokenRejection; claims?: PriceClaims };

/** The keys a worker verifies with: the one it signs with, and the one before it during a rotation. */
export interface PriceKeyring {
  current: CryptoKey;
  previous?: CryptoKey;
}

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key for a secret, imported once per isolate. */
export function signingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    keys.set(secret, key);
  }
  return key;
}

/** What the key id is the MAC of; fixed, so that anyone holding a key can compute its id. */
const KEY_ID_LABEL = 'rx price key id';
/** Key ids are the first 6 bytes of that MAC, in hex: 12 characters. */
const KEY_ID_BYTES = 6;
const KEY_ID = new RegExp(`^[0-9a-f]{${KEY_ID_BYTES * 2}}$`);
/** Quote ids are this many random bytes, in base64url (newQuoteId). */
const QUOTE_ID_BYTES = 12;
/** A token's MAC: HMAC-SHA256, 32 bytes. */
const MAC_BYTES = 32;
/** A shopper's userHash: 128 bits in hex (shopper/user-hash.ts). */
const USER_HASH_CHARS = 32;

/** Characters of `bytes` bytes in base64url without padding. */
const base64UrlChars = (bytes: number) => Math.ceil((bytes * 4) / 3);

/**
 * The widest claims this worker can sign, each field as long as JSON can write it: the product id is
 * one the API took (PRODUCT_ID_PATTERN: up to 256 code points, the events' MAX_ID_CHARS, of any script,
 * no control characters or lone surrogates, so none is escaped wider than its UTF-8, at most 4 bytes;
 * `"` and `\` escape to 2), the longest a JS number is written (24 characters), a currency of 3
 * characters each escaped as `\u0000`, and the largest whole number zod's `int()` takes as expiry.
 */
const WIDEST_CLAIMS: PriceClaims = {
  p: '\u{10FFFF}'.repeat(MAX_ID_CHARS),
  a: 0.0000012345678901234567,
  c: '\u0000'.repeat(3),
  u: 'f'.repeat(USER_HASH_CHARS),
  e: Number.MAX_SAFE_INTEGER,
  q: 'x'.repeat(base64UrlChars(QUOTE_ID_BYTES)),
};

/**
 * The longest token this worker can sign (about 1,600 characters): `v2.<kid>.<payload>.<mac>` of
 * WIDEST_CLAIMS. A product id of 256 CJK characters (3 bytes each in UTF-8) makes a real token of
 * ~1,230. Verify answers anything longer `malformed` without reading it.
 */
export const MAX_TOKEN_CHARS =
  TOKEN_VERSION.length +
  1 +
  KEY_ID_BYTES * 2 +
  1 +
  base64UrlChars(encoder.encode(JSON.stringify(WIDEST_CLAIMS)).byteLength) +
  1 +
  base64UrlChars(MAC_BYTES);
const keyIds = new WeakMap<CryptoKey, Promise<string>>();

/**
 * A key's public name: hex of the first 6 bytes of HMAC-SHA256(key, "rx price key id"). It is derived
 * from the key by a keyed hash, so it reveals nothing about the key (an unkeyed hash of a weak key would
 * be a guessing oracle; this is no more of one than any token's MAC already is). 48 bits: only two keys
 * are ever in play, and were they to collide both are tried. Shell:
 * `printf %s 'rx price key id' | openssl dgst -sha256 -hmac "$KEY" | awk '{print substr($NF,1,12)}'`.
 */
export function keyId(key: CryptoKey): Promise<string> {
  let id = keyIds.get(key);
  if (!id) {
    id = crypto.subtle
      .sign('HMAC', key, encoder.encode(KEY_ID_LABEL))
      .then((mac) => toHex(new Uint8Array(mac, 0, KEY_ID_BYTES)));
    keyIds.set(key, id);
  }
  return id;
}

/** A fresh quote id: 96 random bits, base64url (16 characters). */
export function newQuoteId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(QUOTE_ID_BYTES)));
}

/**
 * A price signing secret as the worker uses it, or undefined when it is unset, empty or only
 * whitespace. Such a value is no secret: anyone who guessed it (a space, a line break) could sign a
 * token at any price that verify would honour. So it counts as missing, for `PRICE_SIGNING_KEY` as for
 * `PRICE_SIGNING_KEY_PREVIOUS`: no token is signed, and verify answers 503 signing_unavailable.
 */
export function usableSigningSecret(secret: string | undefined): string | undefined {
  return secret?.trim() ? secret : undefined;
}

/** The keyring from the worker's secrets; undefined without `PRICE_SIGNING_KEY` (nothing is signed then). */
export async function priceKeyring(env: {
  PRICE_SIGNING_KEY?: string;
  PRICE_SIGNING_KEY_PREVIOUS?: string;
}): Promise<PriceKeyring | undefined> {
  const currentSecret = usableSigningSecret(env.PRICE_SIGNING_KEY);
  if (!currentSecret) return undefined;
  const current = await signingKey(currentSecret);
  const previousSecret = usableSigningSecret(env.PRICE_SIGNING_KEY_PREVIOUS);
  if (!previousSecret || previousSecret === currentSecret) return { current };
  return { current, previous: await signingKey(previousSecret) };
}

/** Signs claims with `key`, naming it by its key id. */
export async function signPriceToken(key: CryptoKey, claims: PriceClaims): Promise<string> {
  const signed = `${TOKEN_VERSION}.${await keyId(key)}.${toBase64Url(encoder.encode(JSON.stringify(claims)))}`;
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(signed)));
  return `${signed}.${toBase64Url(mac)}`;
}

/**
 * Verifies a token for a shopper at a time. The key is the keyring's one the token's key id names;
 * anything but a `v2` token (a `v1` one included) is `malformed`, as is one longer than any this
 * worker signs (MAX_TOKEN_CHARS), which is not read at all. The MAC is checked
 * with `crypto.subtle.verify` (constant time) before anything in the payload is believed; expiry and
 * shopper are checked after. `userHash` may list several hashes of one shopper (a logged-in shopper's
 * and their anonymous session's: a price quoted before login names the anonymous one); the token must
 * name one of them. A bare `CryptoKey` is a keyring of that key alone.
 */
export async function verifyPriceToken(
  keyring: CryptoKey | PriceKeyring,
  token: string,
  userHash: string | readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<TokenCheck> {
  const ring: PriceKeyring = 'current' in keyring ? keyring : { current: keyring };
  const held = ring.previous ? [ring.current, ring.previous] : [ring.current];
  if (token.length > MAX_TOKEN_CHARS) return { valid: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts[0] !== TOKEN_VERSION || parts.length !== 4) return { valid: false, reason: 'malformed' };
  const [version, kid = '', payload = '', macText = ''] = parts;
  if (!KEY_ID.test(kid)) return { valid: false, reason: 'malformed' };
  const signed = `${version}.${kid}.${payload}`;
  const ids = await Promise.all(held.map((key) => keyId(key)));
  const candidates = held.filter((_, i) => ids[i] === kid);
  const mac = fromBase64Url(macText);
  const payloadBytes = fromBase64Url(payload);
  if (!mac || !payloadBytes || mac.byteLength !== MAC_BYTES) return { valid: false, reason: 'malformed' };
  if (candidates.length === 0) return { valid: false, reason: 'unknown_key' };
  let authentic = false;
  for (const key of candidates) {
    authentic = await crypto.subtle.verify('HMAC', key, mac, encoder.encode(signed));
    if (authentic) break;
  }
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
