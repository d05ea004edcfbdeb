import type { RecommendationsResponse as ApiRecommendations, PriceQuote } from '../../contracts/api-types';
import type { Identity } from './identity';

export type { PriceQuote };

/**
 * `GET /v1/recommendations`' answer; `heading`, the placement's default heading (what proxy mode
 * writes), is missing from a worker older than this plugin (an ESM build the shop hosts itself).
 */
export interface RecommendationsResponse extends ApiRecommendations {
  heading?: string;
}

/** Longest wait for an API answer; past it the slot or price is `failed` and keeps the shop's content. */
export const API_TIMEOUT_MS = 5000;

/** A recommendations request: the slot's `data-rx-*` attributes. */
export type RecommendationsQuery = {
  placement: string;
  product_id?: string;
  /** For the cart placement (comma-separated in the URL). */
  product_ids?: string[];
  category?: string;
  /** The slot's `data-rx-limit` as slotLimit reads it (contracts/slot-defaults.ts). */
  limit: number;
};

/**
 * Reads from the worker API. Cookies are never sent (they would be third-party on another site);
 * the anonymous id travels in the `x-rx-uid` header instead, and only when tracking is allowed (with
 * `x-rx-uid-new: 1` while the id is new to the worker; identity.ts `unknownToWorker`). Before
 * consent (or under GPC) requests say `tracking=off` instead: the API answers recommendations from the
 * page alone and base prices without tokens, the same for everybody, and makes no id for them.
 */
export function createApi(base: string, identity: Identity, identified: () => boolean) {
  async function get<T>(
    path: string,
    params: Record<string, string | number | string[] | undefined>,
  ): Promise<T> {
    const url = new URL(base + path);
    const tracked = identified();
    // Untracked (consent pending, GPC): no id, and `tracking=off` so the API makes none either.
    for (const [key, value] of Object.entries(tracked ? params : { ...params, tracking: 'off' })) {
      // URLSearchParams writes any value as a string: a number (the limit) its digits, a list of product
      // ids its items joined by commas (what the API takes; shorter than joining them here).
      if (value) url.searchParams.set(key, value as string);
    }
    const headers: Record<string, string> = {};
    // A header, not `user_id=` in the URL: a shop's user id is often an email address. None while the
    // signature is the refusal mark ('-', below): the worker refused the user id's signature.
    const signature = identity.userSignature();
    const userId = tracked && signature !== '-' && identity.getUserId();
    if (tracked) {
      headers['x-rx-uid'] = identity.getAnonymousId();
      if (userId) {
        headers['x-rx-user-id'] = encodeURIComponent(userId);
        if (signature) headers['x-rx-user-sig'] = signature;
      }
      // A first page: the worker answers from the page alone instead of a cache lookup that can only miss.
      if (identity.unknownToWorker()) headers['x-rx-uid-new'] = '1';
    }
    // Bounded: a hung request would leave a slot loading (its reserved space blank) for good. (Browsers
    // before Safari 16 and Chrome 103 have no `AbortSignal.timeout`: there the request is unbounded.)
    const response = await fetch(url, {
      headers,
      credentials: 'omit',
      signal: AbortSignal.timeout?.(API_TIMEOUT_MS),
    });
    // A signature the worker does not take (its USER_ID_SECRET rotated or newly set, an id identified
    // without one) fails every call with 403 `user_signature_*`: this call asks again without the user
    // id, and the refusal is stored in the signature's place ('-', which no signature is), so this
    // page's later calls and the next pages' ask without it at once, until the next `rx.identify` or
    // logout. Events keep the user id.
    if (userId && response.status === 403 && (await response.text()).includes('user_signature')) {
      identity.setUserId(userId, '-');
      return get(path, params);
    }
    // The response itself: the debug log shows its URL and status.
    if (!response.ok) throw response;
    return response.json() as Promise<T>;
  }
  return {
    recommendations: (query: RecommendationsQuery) =>
      get<RecommendationsResponse>('/v1/recommendations', query),
    quotes: (productIds: string[]) =>
      get<{ prices: PriceQuote[] }>('/v1/prices', { product_ids: productIds }),
  };
}

export type Api = ReturnType<typeof createApi>;
