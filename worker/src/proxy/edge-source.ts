import type { Env } from '../env';
import { getPrices } from '../prices';
import { getRecommendations } from '../recommend';
import type { Shopper } from '../shopper';
import type { PersonalizationSource } from './source';

/**
 * The proxy's source in production: the same `getRecommendations`/`getPrices` that answer
 * `/v1/recommendations` and `/v1/prices`, so proxy mode and script mode show the same results
 * (model, per-user cache, popularity fallback, holdout rules). Prices come unsigned: the page shows
 * only the amount, and the injected plugin puts the signed token on each price element for checkout
 * (from `/v1/prices`), so no HMAC is spent on the page's critical path.
 */
export function edgeSource(env: Env, ctx: ExecutionContext, shopper: Shopper): PersonalizationSource {
  return {
    recommend: (query) => getRecommendations(env, ctx, shopper, query),
    prices: (productIds) => getPrices(env, ctx, shopper, productIds, { sign: false }),
  };
}
