/** base64url without padding (RFC 4648 §5), for tokens that travel in JSON, headers and URLs. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * Decodes base64url; undefined for anything that is not, or that is not written as `toBase64Url`
 * writes it. `atob` ignores the unused low bits of the last character, so without the canonical check
 * four spellings of a token (differing in its last character) would decode to the same bytes and all
 * verify: a shop that refuses a token string seen before could be replayed.
 */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  let bytes: Uint8Array;
  try {
    const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
    bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
  return toBase64Url(bytes) === text ? bytes : undefined;
}
