import { setting } from '../config';
import { sha256OfShopperText } from './recent-digests';

/** Which arm of the experiment a shopper is in: `holdout` shoppers get popularity and base prices. */
export type Bucket = 'treatment' | 'holdout';

/**
 * Parses `HOLDOUT_PERCENT` (0..100, decimals allowed; past a bound, that bound). A missing or invalid
 * value means no holdout, because silently holding out shoppers nobody asked to hold out would cost
 * the shop revenue (settings.ts; an invalid one is a problem on `/healthz` `config`).
 */
export function holdoutPercent(raw: string | undefined): number {
  return setting({ HOLDOUT_PERCENT: raw }, 'HOLDOUT_PERCENT');
}

/**
 * Deterministic bucket from the anonymous id: SHA-256 of `holdout \n site \n id`, its first 32 bits
 * mapped to [0, 10000) basis points. The same browser always lands in the same arm, for any worker
 * instance, and changing the percentage moves only the shoppers at the boundary.
 *
 * Unkeyed on purpose, unlike userHash: the digest never leaves the worker (only the one-bit bucket
 * does, in responses and events), so it exposes nothing, and keeping it independent of USER_HASH_KEY
 * means that introducing, rotating or missing that key never moves a shopper to the other arm of a
 * running experiment.
 */
export async function holdoutBucket(site: string, anonymousId: string, percent: number): Promise<Bucket> {
  if (percent <= 0) return 'treatment';
  if (percent >= 100) return 'holdout';
  const digest = await sha256OfShopperText(`holdout\n${site}\n${anonymousId}`);
  const basisPoints = new DataView(digest).getUint32(0) % 10_000;
  return basisPoints < percent * 100 ? 'holdout' : 'treatment';
}
