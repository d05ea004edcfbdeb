import type { RecommendedItem } from '../../../contracts/markup';
import type { Placement } from './config';

/** What one slot asks for: the EDGE API's `getRecommendations` query. */
export interface RecommendationQuery {
  placement: Placement;
  productId?: string;
  productIds?: string[];
  category?: string;
  limit: number;
}

/** `getRecommendations`' answer. */
export interface Recommendations {
  recommendation_id: string;
  model_version: string;
  items: Array<RecommendedItem & { score: number }>;
  source: string;
}

/** `getPrices`' answer for one product (DESIGN.md `GET /v1/prices`). */
export interface PriceQuote {
  product_id: string;
  base_price: number;
  price: number;
  currency: string;
  discount: number;
  personalized: boolean;
  /** Signed statement of the price for checkout; null when the worker has no signing key. */
  token: string | null;
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
