import type { PriceQuote, RecommendationsResponse } from '../../contracts/api-types';
import type { Identity } from './identity';

export type { PriceQuote, RecommendationsResponse };

/** A recommendations request: the slot's `data-rx-*` attributes. */
export interface RecommendationsQuery {
  placement: string;
  product_id?: string;
  /** Comma-separated, for the cart placement. */
  product_ids?: string;
  category?: string;
  limit?: string;
}

/**
 * Reads from the worker API. Cookies are never sent (they would be third-party on another site);
 * the anonymous id travels in the `x-rx-uid` header instead, and only when tracking is allowed. Before
 * consent (or under GPC) requests say `tracking=off` instead: the API answers recommendations from the
 * page alone and base prices without tokens, the same for everybody, and makes no id for them.
 */
export function createApi(base: string, identity: Identity, identified: () => boolean) {
  async function get<T>(path: string, params: Record<string, string | undefined>): Promise<T> {
    const url = new URL(base + path);
    const tracked = identified();
    const userId = tracked ? identity.userId() : undefined;
    for (const [key, value] of Object.entries({ ...params, user_id: userId })) {
      if (value) url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = tracked ? { 'x-rx-uid': identity.anonymousId() } : {};
    const response = await fetch(url, { headers, credentials: 'omit' });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return (await response.json()) as T;
  }
  return {
    // Untracked (consent pending, GPC): answered from the page alone (base prices), no id made for it.
    recommendations: (query: RecommendationsQuery) =>
      get<RecommendationsResponse>('/v1/recommendations', {
        ...query,
        tracking: identified() ? undefined : 'off',
      }),
    prices: (productIds: string[]) =>
      get<{ prices: PriceQuote[] }>('/v1/prices', {
        product_ids: productIds.join(','),
        tracking: identified() ? undefined : 'off',
      }),
  };
}

export type Api = ReturnType<typeof createApi>;
