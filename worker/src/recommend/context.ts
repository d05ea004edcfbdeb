import type { RecommendationQuery } from './types';

/**
 * The part of a query that changes the answer besides the shopper: the cache key's `context`.
 * JSON, so no product id or category can make two queries read alike (ids may hold `|`, `=` or,
 * in proxy mode, a comma); a cart's ids are sorted, as their order does not change the answer.
 */
export function recommendationContext(query: RecommendationQuery): string {
  const cart = query.productIds ? [...query.productIds].sort() : [];
  return JSON.stringify([query.productId ?? '', query.category ?? '', cart, query.limit]);
}
