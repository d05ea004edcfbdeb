/**
 * Response shapes of the worker's HTTP API (DESIGN.md "HTTP API"), shared by the worker that
 * answers, the proxy that renders them in-process and the storefront plugin that fetches them.
 * Types, and the few limits both sides must agree on.
 */

/**
 * Product ids the API accepts (`product_id`, `product_ids`), after the worker trims the spaces around
 * each: 1-256 characters, the events' limit, so every id a shop's events, catalogue and bundle carry
 * (`85123A`, `TSHIRT/RED XL`, `Größe-42`) can be asked for, in script mode as in proxy mode. Refused:
 * control characters and lone surrogates (no shop id has them; they are a client's bug) and a comma
 * (it separates `product_ids`).
 */
export const PRODUCT_ID_PATTERN = /^[^,\p{Cc}\p{Cs}]{1,256}$/u;

/** What a refused product id is told, by the worker's 400 `details`. */
export const PRODUCT_ID_RULE =
  'must be 1-256 characters without commas or control characters (spaces around it are ignored)';

/**
 * Shop user ids the API accepts (`user_id`, `x-rx-user-id`): 1-256 characters without control
 * characters, what the event schema takes, so every id a shop's events carry (`auth0|5f7c…`,
 * `o'brien@example.com`) can be asked for. Only its hash is ever used.
 */
export const USER_ID_PATTERN = /^[^\p{Cc}]{1,256}$/u;

/**
 * Longest query string the API accepts (bytes after `?`); longer is a 414. It holds the longest id
 * PRODUCT_ID_PATTERN takes, percent-encoded (256 code points of 4 UTF-8 bytes, 3 characters a byte:
 * 3,072), with the other parameters beside it: at 2,048 a shop whose ids are 256 CJK letters or emoji
 * could not ask for their prices at all.
 */
export const MAX_QUERY_LENGTH = 4096;

/** One recommended product in `GET /v1/recommendations`. */
export interface RecommendedItem {
  product_id: string;
  title: string;
  url: string;
  image: string;
  /**
   * The catalogue's price (proxy mode: this shopper's); `null` for an item the catalogue has no price
   * for (`price_source: "none"`: the data priced it nowhere), which is shown without one, not at 0.
   */
  price: number | null;
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
