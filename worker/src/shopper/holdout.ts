import { LRUCache } from 'lru-cache';

/** Each recent shopper's position in 0..9999 (a pure function of site and id; see user-hash.ts). */
const recentBasisPoints = new LRUCache<string, Promise<number>>({ max: 5_000 });

/** Which arm of the experiment a shopper is in: `holdout` shoppers get popularity and base prices. */
export type Bucket = 'treatment' | 'holdout';

/**
 * Parses `HOLDOUT_PERCENT` (0..100, decimals allowed). A missing or invalid value means no holdout,
 * because silently holding out shoppers nobody asked to hold out would cost the shop revenue.
 */
export function holdoutPercent(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 0;
  const value = Number(raw);
  if (!Number.isFinite(value)) return 0;
  return Math.min(100, Math.max(0, value));
}

/**
 * Deterministic bucket from the anonymous id: SHA-256 of `holdout \n site \n id`, its first 32 bits
 * mapped to [0, 10000) basis points. The same browser always lands in the same arm, for any worker
 * instance, and changing the percentage moves only the shoppers at the boundary.
 */
export function holdoutBucket(site: string, anonymousId: string, percent: number): Promise<Bucket> {
  if (percent <= 0) return Promise.resolve('treatment');
  if (percent >= 100) return Promise.resolve('holdout');
  const key = `${site}\n${anonymousId}`;
  let basisPoints = recentBasisPoints.get(key);
  if (basisPoints === undefined) {
    basisPoints = crypto.subtle
      .digest('SHA-256', new TextEncoder().encode(`holdout\n${key}`))
      .then((digest) => new DataView(digest).getUint32(0) % 10_000);
    recentBasisPoints.set(key, basisPoints);
    basisPoints.catch(() => recentBasisPoints.delete(key));
  }
  return basisPoints.then((points) => (points < percent * 100 ? 'holdout' : 'treatment'));
}
