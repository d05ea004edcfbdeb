import type { Env } from '../env';
import type { Shopper } from '../shopper';
import { edgeSource } from './edge-source';
import type { PersonalizationSource } from './source';

/**
 * Nobody in particular: the recommendation path without an id. Its `holdout` bucket is what makes
 * `getRecommendations` answer without history (popularity, the product's similar items) and without
 * touching the per-user cache; no hash of it is ever used as a key.
 */
const NOBODY: Shopper = { anonymousId: '', userHash: '', anonymousHash: '', bucket: 'holdout', isNew: false };

/**
 * The source for pages of shoppers who may not be tracked (consent pending, Global Privacy Control):
 * the production source for nobody in particular, so the page's slots are in its initial HTML without
 * layout shift or a round trip, and nothing about the shopper is read or written. Its prices are base
 * prices, used only to render the slots' items: the rewriter leaves the page's own prices alone on
 * these pages (PageRewriteOptions.personal).
 */
export function nonPersonalSource(env: Env, ctx: ExecutionContext): PersonalizationSource {
  return edgeSource(env, ctx, NOBODY);
}
