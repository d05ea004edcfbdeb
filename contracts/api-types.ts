/**
 * Response shapes of the worker's HTTP API (DESIGN.md "HTTP API"), shared by the worker that
 * answers, the proxy that renders them in-process and the storefront plugin that fetches them.
 * Types, and the few limits both sides must agree on.
 */

/** Product ids the API accepts: letters, digits, `_ . : -`, 1–64 characters (e.g. `85123A`). */
export const PRODUCT_ID_PATTERN = /^[A-Za-z0-9][\w.:-]{0,63}$/;

/**
 * Shop user ids the API accepts (`user_id`, `x-rx-user-id`): 1-256 characters without control
 * characters, what the event schema takes, so every id a shop's events carry (`auth0|5f7c…`,
 * `o'brien@example.com`) can be asked for. Only its hash is ever used.
 */
export const USER_ID_PATTERN = /^[^\p{Cc}]{1,256}$/u;

/** Longest query string the API accepts (bytes after `?`); longer is a 414. */
export const MAX_QUERY_LENGTH = 2048;

/** One recommended product in `GET /v1/recommendations`. */
export interface RecommendedItem {
  product_id: string;
  title: string;
  url: string;
  image: string;
  price: number;
  /** Relevance within this list (model score, or relative popularity for fallbacks); higher is better. */
  score: number;
}

/** The part of `GET /v1/recommendations` every client relies on. */
export interface RecommendationsResponse {
  /** New for every response; events carry it back so clicks and orders are attributed to this list. */
  recommendation_id: string;
  model_version: string;
  items: RecommendedItem[];
}

/** One product's price for one shopper, as `GET /v1/prices` returns it. */
export interface PriceQuote {
  product_id: string;
  base_price: number;
  price: number;
  currency: string;
  /** base_price - price (0 until personalized pricing lands). */
  discount: number;
  personalized: boolean;
  /** Signed statement of this price for this shopper; null when no PRICE_SIGNING_KEY is configured. */
  token: string | null;
  /** ISO time the token stops being honoured. */
  expires_at: string;
}
