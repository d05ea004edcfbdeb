/**
 * What an event says about the experiment: a recommendation impression, a recommendation click or an
 * order. The trainer's `npm run report` (trainer/experiment/tally.ts) and the consumer's live counters
 * (worker/src/live/) read events through these functions, so the live screen and the report count the
 * same things.
 */
import type { StoredEvent } from './events';

export const ORDER_COMPLETED = 'Order Completed';
export const RECOMMENDATION_SHOWN = 'Recommendation Shown';
export const RECOMMENDATION_CLICKED = 'Recommendation Clicked';

/** An event's part in the experiment; `placement` is whatever the event named (undefined when none). */
export type ExperimentRole =
  | { kind: 'impression'; placement: string | undefined }
  | { kind: 'click'; placement: string | undefined }
  | { kind: 'order' }
  | { kind: 'other' };

/**
 * Impressions are `Recommendation Shown` events (the plugin's, one per block it filled) and page views
 * the proxy sent for pages it filled (one per page: they carry the recommendation_id of what it filled,
 * worker/src/proxy/page-view.ts); such a page view's placement is its page name, `product` for a
 * product page.
 */
export function experimentRoleOf(event: StoredEvent): ExperimentRole {
  if (isFilledPageView(event))
    return { kind: 'impression', placement: event.type === 'page' ? event.name : 'product' };
  if (event.type !== 'track') return { kind: 'other' };
  if (event.event === ORDER_COMPLETED) return { kind: 'order' };
  if (event.event === RECOMMENDATION_SHOWN)
    return { kind: 'impression', placement: event.properties?.placement };
  if (event.event === RECOMMENDATION_CLICKED)
    return { kind: 'click', placement: event.properties?.placement };
  return { kind: 'other' };
}

function isFilledPageView(event: StoredEvent): boolean {
  const pageView = event.type === 'page' || (event.type === 'track' && event.event === 'Product Viewed');
  return pageView && event.properties?.recommendation_id !== undefined;
}

/**
 * What makes two order events one order: its `order_id` (the browser and the shop's server may both
 * report it, or a sender retry it under a new messageId); without one, the event itself.
 */
export function orderKey(event: StoredEvent): string {
  const id = event.properties?.order_id;
  return id === undefined ? `message:${event.messageId}` : `order:${id}`;
}

/** The products an event names: `product_id` and `products[].product_id` (or `sku`). */
export function productIdsOf(event: StoredEvent): string[] {
  const properties = event.properties ?? {};
  const ids = new Set<string>();
  for (const product of [properties, ...(properties.products ?? [])]) {
    const id = product.product_id ?? product.sku;
    if (id !== undefined) ids.add(String(id));
  }
  return [...ids];
}
