import type { PriceQuote, RecommendationsResponse } from '../../../contracts/api-types';
import type { RecommendationQuery } from '../recommend/types';

export type { PriceQuote, RecommendationQuery };

/** `getRecommendations`' answer, as far as the proxy needs it. */
export interface Recommendations extends RecommendationsResponse {
  source: string;
}

/**
 * Where the proxy gets recommendations and prices for one shopper's request: `edgeSource` wraps
 * `getRecommendations`/`getPrices` (worker/src/recommend, worker/src/prices); tests pass a source
 * whose calls are slow or fail, to exercise the budget and the fallbacks.
 */
export interface PersonalizationSource {
  recommend(query: RecommendationQuery): Promise<Recommendations>;
  prices(productIds: string[]): Promise<PriceQuote[]>;
}
