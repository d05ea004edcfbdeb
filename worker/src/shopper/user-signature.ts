import type { Env } from '../env';
import { toHex } from '../hex';
import { signingKey, usableSigningSecret } from '../prices/price-token';

/**
 * Signed user ids (`USER_ID_SECRET`): with the secret set, the API takes a shop's user id only with
 * its signature, hex HMAC-SHA256(USER_ID_SECRET, user id), which the shop's server computes when the
 * shopper logs in. Without it anyone who knows or guesses an id (often an email address) could read
 * that shopper's recommendations, which reflect what they viewed and bought.
 */

const encoder = new TextEncoder();
const HEX_SIGNATURE = /^[0-9a-f]{64}$/i;

/** The signature a shop's server sends for `userId` (Node: createHmac('sha256', secret).update(id).digest('hex')). */
export async function signUserId(secret: string, userId: string): Promise<string> {
  const mac = new Uint8Array(
    await crypto.subtle.sign('HMAC', await signingKey(secret), encoder.encode(userId)),
  );
  return toHex(mac);
}

/** Whether `signature` signs `userId`; checked by WebCrypto's verify, in constant time. */
export async function userSignatureValid(
  secret: string,
  userId: string,
  signature: string,
): Promise<boolean> {
  if (!HEX_SIGNATURE.test(signature)) return false;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(signature.slice(i * 2, i * 2 + 2), 16);
  return crypto.subtle.verify('HMAC', await signingKey(secret), bytes, encoder.encode(userId));
}

type SigningSecrets = Pick<Env, 'USER_ID_SECRET' | 'PRICE_SIGNING_KEY' | 'PRICE_SIGNING_KEY_PREVIOUS'>;

/**
 * USER_ID_SECRET as the worker uses it: undefined when unset, empty or only whitespace. A blank value
 * is no secret (anyone can compute a signature under a space), so demanding signatures under it would
 * only make the shop believe its user ids unclaimable. It counts as unset, as a blank price signing key
 * does (prices/price-token.ts usableSigningSecret), and `/healthz` names it (blankUserIdSecretProblem).
 */
export function usableUserIdSecret(env: Pick<Env, 'USER_ID_SECRET'>): string | undefined {
  return usableSigningSecret(env.USER_ID_SECRET);
}

/** What `/healthz` and the log say of a USER_ID_SECRET set to only whitespace; undefined otherwise. */
export function blankUserIdSecretProblem(env: Pick<Env, 'USER_ID_SECRET'>): string | undefined {
  if (env.USER_ID_SECRET === undefined || env.USER_ID_SECRET === '' || usableUserIdSecret(env))
    return undefined;
  return (
    'USER_ID_SECRET is set but blank, so it is no secret: user ids are taken without a signature until it ' +
    'gets a value (e.g. openssl rand -base64 32, then sign user ids with it) or is removed'
  );
}

/**
 * The price key USER_ID_SECRET is equal to, if any. Both are HMAC-SHA256 keys over text, so with one
 * secret for both, a user id's signature is a price token's MAC: whoever gets an id of their choosing
 * signed (`v2.<key id>.<claims of any price>`, at a sign-up whose id the shopper picks) holds a token the
 * worker would honour. The signing formats are the shops' code and cannot change, so the worker
 * refuses the setting instead (`/healthz` config `down`, verify `503`). Only names come out of here.
 */
export function userIdSecretSharedWith(
  env: SigningSecrets,
): 'PRICE_SIGNING_KEY' | 'PRICE_SIGNING_KEY_PREVIOUS' | undefined {
  const secret = usableUserIdSecret(env);
  if (!secret) return undefined;
  if (secret === env.PRICE_SIGNING_KEY) return 'PRICE_SIGNING_KEY';
  if (secret === env.PRICE_SIGNING_KEY_PREVIOUS) return 'PRICE_SIGNING_KEY_PREVIOUS';
  return undefined;
}

/** What `/healthz` and the log say of it: the two settings' names, never a value. */
export function sharedSecretProblem(env: SigningSecrets): string | undefined {
  const priceKey = userIdSecretSharedWith(env);
  if (priceKey === undefined) return undefined;
  return (
    `USER_ID_SECRET and ${priceKey} are the same secret, so a signed user id could pass as a price ` +
    'token: price tokens are not verified until USER_ID_SECRET gets a value of its own ' +
    '(e.g. openssl rand -base64 32, then sign user ids with it)'
  );
}
