import { toHex } from '../hex';
import { signingKey } from '../prices/price-token';

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
