/**
 * What a slot gets when its markup leaves something out, the same in both modes: proxy mode
 * (worker/src/proxy/slot-query.ts) and script mode (the storefront plugin, and the `heading` that
 * `GET /v1/recommendations` answers with). The plugin imports only DEFAULT_SLOT_LIMIT (inlined by the
 * build); the headings stay out of its bundle, which takes the placement's heading from the API.
 */

/** Items in a block whose slot has no `data-rx-limit` (or an `RX_SLOTS` entry no `limit`). */
export const DEFAULT_SLOT_LIMIT = 4;

/** A block's heading when its slot has no `data-rx-heading` (or an `RX_SLOTS` entry no `heading`). */
export const PLACEMENT_HEADINGS: Readonly<Record<'home' | 'product' | 'cart' | 'category', string>> = {
  home: 'Recommended for you',
  product: 'You may also like',
  cart: 'Goes well with your basket',
  category: 'Popular picks for you',
};
