import { LRUCache } from 'lru-cache';

/**
 * SHA-256 digests of shopper ids this isolate hashed lately (their hash and their holdout position).
 * A shopper's page views, API calls and events each need them, several times per page; a digest is
 * cheap but not free on every request. A pure function of its input, so the cache can never be stale;
 * bounded, so it never grows with traffic. Callers must not write into the returned buffer.
 */
const recent = new LRUCache<string, Promise<ArrayBuffer>>({ max: 10_000 });

export function sha256OfShopperText(text: string): Promise<ArrayBuffer> {
  let digest = recent.get(text);
  if (digest === undefined) {
    digest = crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    recent.set(text, digest);
    digest.catch(() => recent.delete(text));
  }
  return digest;
}
