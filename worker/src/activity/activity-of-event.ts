import { activityKindOf, isCancellation } from '../../../contracts/activity';
import { eventProductIds, eventProductsOf } from '../../../contracts/event-products';
import type { StoredEvent } from '../../../contracts/events';
import type { ActivityEntry } from '../cache/keys';

/**
 * Whether an event makes the shopper's cached recommendations stale (bump the cache generation):
 * - `always`: the cart or the purchases changed (what may be shown changed);
 * - `if-not-recent`: a view or click, which only matters when the product is not already among the
 *   shopper's most recent entries (re-viewing the product just seen changes the history vector a
 *   little, and bumping on it would make every repeat page view a cache miss);
 * - `never`: nothing personal changed.
 */
export type Invalidation = 'always' | 'if-not-recent' | 'never';

/** What one event changes in a shopper's personalization state. */
export interface EventActivity {
  /** Items to add to the recent-activity list. */
  entries: ActivityEntry[];
  /** Products bought: never recommended to this shopper again. */
  purchased: string[];
  invalidation: Invalidation;
}

/**
 * Maps an event to its activity. Product ids as every reader of events takes them
 * (contracts/event-products.ts: `products[]`, else the top-level product; `product_id`, else `sku`). Page, identify and
 * list/search/shown events change nothing here, nor does a cancellation (an order worth less than 0),
 * nor an order's line of quantity 0: the order lists it, none of it was sold, so it is no purchase
 * (it would hide the product from the shopper for good) and no entry either, as the trainer reads it
 * (trainer/data/event-interactions.ts). A line without a quantity is one.
 */
export function activityOf(event: StoredEvent): EventActivity {
  const none: EventActivity = { entries: [], purchased: [], invalidation: 'never' };
  if (event.type !== 'track' || event.event === undefined) return none;
  const kind = activityKindOf(event.event);
  if (kind === undefined || isCancellation(event)) return none;

  const at = Date.parse(event.timestamp);
  const ids = kind === 'purchase' ? boughtIds(event) : eventProductIds(event);
  const browsing = kind === 'view' || kind === 'click';
  return {
    entries: ids.map((product_id) => ({ product_id, kind, at })),
    purchased: kind === 'purchase' ? ids : [],
    invalidation: ids.length === 0 ? 'never' : browsing ? 'if-not-recent' : 'always',
  };
}

/** The distinct ids of an order's lines that sold at least one (no quantity: one), in order. */
function boughtIds(event: StoredEvent): string[] {
  const bought = eventProductsOf(event).filter((product) => (product.fields.quantity ?? 1) > 0);
  return [...new Set(bought.map((product) => product.id))];
}
