import { sha256OfShopperText } from './recent-digests';

/**
 * A pseudonymous, per-site stable hash of a shopper id: SHA-256 of `site \n id`, first 128 bits in hex.
 * It is what cache keys, price tokens and logs carry, so no raw id ever reaches Redis or a log line.
 */
export function userHash(site: string, id: string): Promise<string> {
  return sha256OfShopperText(`${site}\n${id}`).then((digest) => toHex(new Uint8Array(digest, 0, 16)));
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
