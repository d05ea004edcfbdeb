/**
 * A pseudonymous, per-site stable hash of a shopper id: SHA-256 of `site \n id`, first 128 bits in hex.
 * It is what cache keys, price tokens and logs carry, so no raw id ever reaches Redis or a log line.
 */
export async function userHash(site: string, id: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${site}\n${id}`));
  return toHex(new Uint8Array(digest).subarray(0, 16));
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
