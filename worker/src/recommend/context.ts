import type { RecommendationQuery } from './types';

/** The part of a query that changes the answer besides the shopper: the cache key's `context`. */
export function recommendationContext(query: RecommendationQuery): string {
  const cart = query.productIds ? [...query.productIds].sort().join(',') : '';
  return `p=${query.productId ?? ''}|c=${query.category ?? ''}|cart=${cart}|n=${query.limit}`;
}
