/** Lowercase hex of bytes: digests, MACs and key ids as the worker writes them. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
