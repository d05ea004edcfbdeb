import type { Env } from '../env';
import { basePrices } from '../prices';
import { getContextRecommendations } from '../recommend/context-only';
import type { PersonalizationSource } from './source';

/**
 * The source for pages of shoppers who may not be tracked (consent pending, Global Privacy Control):
 * recommendations from the page alone (`getContextRecommendations`: items like the page's product,
 * popularity on home and category pages), so the page's slots are in its initial HTML without layout
 * shift or a round trip, and nothing about the shopper is read or written. Its prices are base prices,
 * used only to render the slots' items: the rewriter leaves the page's own prices alone on these pages
 * (PageRewriteOptions.personal).
 */
export function nonPersonalSource(env: Env, ctx: ExecutionContext): PersonalizationSource {
  return {
    recommend: async (query) => {
      const { items, ...rest } = await getContextRecommendations(env, ctx, query);
      return { ...rest, items: [...items] };
    },
    prices: (productIds) => basePrices(env, ctx, productIds),
  };
}
