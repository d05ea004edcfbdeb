import { LRUCache } from 'lru-cache';

/**
 * Hashes of the shoppers this isolate served lately. A shopper's page views, API calls and events
 * each need their hash (several per page); a digest is cheap but not free on every request. A pure
 * function of its input, so the cache can never be stale; bounded, so it never grows with traffic.
 */
const recentHashes = new LRUCache<string, Promise<string>>({ max: 5_000 });

/**
 * A pseudonymous, per-site stable hash of a shopper id: SHA-256 of `site \n id`, first 128 bits in hex.
 * It is what cache keys, price tokens and logs carry, so no raw id ever reaches Redis or a log line.
 */
export function userHash(site: string, id: string): Promise<string> {
  const key = `${site}\n${id}`;
  let hash = recentHashes.get(key);
  if (hash === undefined) {
    hash = crypto.subtle
      .digest('SHA-256', new TextEncoder().encode(key))
      .then((digest) => toHex(new Uint8Array(digest).subarray(0, 16)));
    recentHashes.set(key, hash);
    hash.catch(() => recentHashes.delete(key));
  }
  return hash;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
