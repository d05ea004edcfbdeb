import type { StoredEvent } from '../../../contracts/events';
import type { ActivityEntry } from '../cache/keys';

/** What one event changes in a shopper's personalization state. */
export interface EventActivity {
  /** Items to add to the recent-activity list. */
  entries: ActivityEntry[];
  /** Products bought: never recommended to this shopper again. */
  purchased: string[];
  /** Cached recommendations of this shopper no longer fit (bump the generation). */
  stale: boolean;
}

const KIND_BY_EVENT: Record<string, ActivityEntry['kind']> = {
  'Product Viewed': 'view',
  'Product Clicked': 'click',
  'Recommendation Clicked': 'click',
  'Product Added': 'cart',
  'Order Completed': 'purchase',
};

/** Events that change what to recommend without adding an item (the cart shrank). */
const STALE_WITHOUT_ENTRY = new Set(['Product Removed']);

/**
 * Maps an event to its activity. Product ids come from `properties.product_id` and
 * `properties.products[].product_id` (Segment e-commerce v2). Page, identify and
 * list/search/shown events change nothing here.
 */
export function activityOf(event: StoredEvent): EventActivity {
  const none: EventActivity = { entries: [], purchased: [], stale: false };
  if (event.type !== 'track' || event.event === undefined) return none;
  const kind = KIND_BY_EVENT[event.event];
  if (kind === undefined) return { ...none, stale: STALE_WITHOUT_ENTRY.has(event.event) };

  const at = Date.parse(event.timestamp);
  const ids = productIds(event);
  return {
    entries: ids.map((product_id) => ({ product_id, kind, at })),
    purchased: kind === 'purchase' ? ids : [],
    stale: ids.length > 0,
  };
}

function productIds(event: StoredEvent): string[] {
  const properties = event.properties;
  if (properties === undefined) return [];
  const ids = new Set<string>();
  if (properties.product_id !== undefined) ids.add(properties.product_id);
  for (const product of properties.products ?? []) {
    if (product.product_id !== undefined) ids.add(product.product_id);
  }
  return [...ids];
}
