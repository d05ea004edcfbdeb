import { LRUCache } from 'lru-cache';

/**
 * Plain SHA-256 digests of shopper texts this isolate hashed lately: a shopper's holdout position
 * (holdout.ts), and a rate limiter's key when USER_HASH_KEY is missing (user-hash.ts). Never a
 * shopper's pseudonym: that is keyed (userHash). A shopper's page views and API calls each need the
 * bucket, several times per page; a digest is cheap but not free on every request. A pure function of its input, so the cache can never be stale;
 * bounded, so it never grows with traffic. Callers must not write into the returned buffer.
 */
const recent = new LRUCache<string, Promise<ArrayBuffer>>({ max: 10_000 });

export function sha256OfShopperText(text: string): Promise<ArrayBuffer> {
  return remembered(recent, text, () => crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/**
 * The promise `cache` holds for `key`, else `compute()`'s, kept there; one that rejects is dropped, so
 * a failure is not remembered. Shared by the isolate's digest memos (this one, userHash's).
 */
export function remembered<T>(
  cache: LRUCache<string, Promise<T>>,
  key: string,
  compute: () => Promise<T>,
): Promise<T> {
  let value = cache.get(key);
  if (value === undefined) {
    value = compute();
    cache.set(key, value);
    value.catch(() => cache.delete(key));
  }
  return value;
}
