import type { Env } from '../env';
import { getPrices } from '../prices';
import { getRecommendations } from '../recommend';
import type { Shopper } from '../shopper';
import type { PersonalizationSource } from './source';

/**
 * Nobody in particular: the recommendation path without an id. Its `holdout` bucket is what makes
 * `getRecommendations` answer without history (popularity, the product's similar items) and without
 * touching the per-user cache; no hash of it is ever used as a key.
 */
const NOBODY: Shopper = { anonymousId: '', userHash: '', anonymousHash: '', bucket: 'holdout', isNew: false };

/**
 * The source for pages of shoppers who may not be tracked (consent pending, Global Privacy Control):
 * the same non-personal results the plugin would fetch in the browser, so the page's slots are in its
 * initial HTML without layout shift or a round trip. Nothing about the shopper is read or written.
 */
export function nonPersonalSource(env: Env, ctx: ExecutionContext): PersonalizationSource {
  return {
    recommend: (query) => getRecommendations(env, ctx, NOBODY, query),
    // Base prices; the rewriter does not rewrite prices on these pages (PageRewriteOptions.personal).
    prices: (productIds) => getPrices(env, NOBODY, productIds, { sign: false }),
  };
}
