/**
 * What a slot gets when its markup leaves something out, the same in both modes: proxy mode
 * (worker/src/proxy/slot-query.ts) and script mode (the storefront plugin, and the `heading` that
 * `GET /v1/recommendations` answers with). The plugin bundles slotLimit and slotProductIds (kept
 * short: rx.js has a size budget); the headings stay out of its bundle, which takes the placement's
 * heading from the API.
 */

/** Items in a block whose slot has no `data-rx-limit` (or an `RX_SLOTS` entry no `limit`). */
export const DEFAULT_SLOT_LIMIT = 4;

/** The most items one block shows; a larger `data-rx-limit` is clamped to it. */
export const MAX_SLOT_LIMIT = 24;

/** The most product ids a slot asks about (`GET /v1/recommendations` refuses more); the rest are left out. */
export const MAX_SLOT_PRODUCT_IDS = 50;

/**
 * A slot's `data-rx-limit`: its whole number clamped to MAX_SLOT_LIMIT, DEFAULT_SLOT_LIMIT when absent or
 * not a number of at least 1. A shop's typo shows the default block, not an empty one (the API would
 * answer 400 to `limit=abc` or `limit=30`).
 */
export function slotLimit(raw: string | null | undefined): number {
  // parseInt, not Number.parseInt (the same function, 7 bytes shorter in rx.js): leading spaces and a
  // sign are read, the number ends at the first other character ("3.5" is 3); null reads as NaN.
  const value = parseInt(raw as string, 10);
  return value > 0 ? Math.min(value, MAX_SLOT_LIMIT) : DEFAULT_SLOT_LIMIT;
}

/**
 * A slot's `data-rx-product-ids` (comma-separated): trimmed, empty entries dropped, the first
 * MAX_SLOT_PRODUCT_IDS kept (a cart of 60 lines still gets its block); undefined when none is left.
 */
export function slotProductIds(raw: string | null | undefined): string[] | undefined {
  // `split(',').map(trim).filter(Boolean)` in one regex, shorter in rx.js: each match starts and ends
  // with a character that is neither a comma nor white space (`\s` is what trim removes) and holds no
  // comma; no match is null.
  return raw?.match(/[^\s,](?:[^,]*[^\s,])?/g)?.slice(0, MAX_SLOT_PRODUCT_IDS);
}

/** A block's heading when its slot has no `data-rx-heading` (or an `RX_SLOTS` entry no `heading`). */
export const PLACEMENT_HEADINGS: Readonly<Record<'home' | 'product' | 'cart' | 'category', string>> = {
  home: 'Recommended for you',
  product: 'You may also like',
  cart: 'Goes well with your basket',
  category: 'Popular picks for you',
};
