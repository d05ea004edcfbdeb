import { toHex } from '../hex';

/** Lowercase hex SHA-256 of bytes (Web Crypto). */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}
