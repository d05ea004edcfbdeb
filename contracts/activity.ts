/**
 * A shopper's recent activity as the worker keeps it in Redis and weighs it into the history vector
 * its models rank from (worker/src/cache/keys.ts, worker/src/recommend/history.ts). The trainer's
 * `eval --history served` rebuilds the same history from the data (trainer/eval/served-history.ts),
 * so both read these values from here.
 */
import type { StoredEvent } from './events';
import { orderValue } from './order-value';

/** The kinds of entry; `removed` (taken out of the cart) weighs nothing but ends a cart place. */
export type ActivityKind = 'view' | 'cart' | 'purchase' | 'click' | 'removed';

/**
 * The entry the consumer records for each event (worker/src/activity/activity-of-event.ts). Any other
 * event (page, identify, `Checkout Started`, list views and searches) records nothing and renews no
 * lifetime.
 */
export const ACTIVITY_KIND_BY_EVENT: Readonly<Record<string, ActivityKind>> = {
  'Product Viewed': 'view',
  'Product Clicked': 'click',
  'Recommendation Clicked': 'click',
  'Product Added': 'cart',
  // Kept as an entry, not only a cache bump: the cart a `cart` placement derives from activity
  // (recommend/cart.ts) must lose the item.
  'Product Removed': 'removed',
  'Order Completed': 'purchase',
};

/**
 * The kind of entry an event records, if any. Own keys only: the name is the sender's to choose, and a
 * plain lookup of `constructor` or `__proto__` would hand back one of Object's own functions.
 */
export function activityKindOf(eventName: string): ActivityKind | undefined {
  return Object.hasOwn(ACTIVITY_KIND_BY_EVENT, eventName) ? ACTIVITY_KIND_BY_EVENT[eventName] : undefined;
}

/**
 * Whether an event is a cancellation: an `Order Completed` worth less than 0 (how some shops, and the
 * UCI Online Retail data's cancelled invoices, record one). Nothing was bought, so it records no
 * purchase in a shopper's activity or the trainer's interactions (the experiment report nets it from
 * revenue as a refund, contracts/experiment-events.ts).
 */
export function isCancellation(event: Pick<StoredEvent, 'event' | 'properties'>): boolean {
  return event.event === 'Order Completed' && orderValue(event).revenue < 0;
}

/**
 * How many activity entries writers keep (LTRIM 0 ACTIVITY_MAX-1) and readers read. An order line is an
 * entry, so a wholesale customer's one order could fill 50 and push out everything before it: on Online
 * Retail, EASE as served scores nDCG@10 0.1146 with 50 and 0.1221 with 100 (`npm run eval -- --history
 * served`), and 0.1227 with 200 in a one-off probe (docs/trainer.md "As served"). Only a cache miss reads the lists (a fresh hit
 * never ships them), and a shopper's few page views never reach the cap.
 */
export const ACTIVITY_MAX = 100;

/**
 * Days activity, purchases and the cache generation live after a shopper's last event (EXPIRE on each
 * write), by default: the `ACTIVITY_DAYS` and `ACTIVITY_DAYS_SIGNED_IN` settings. Signed-in shoppers'
 * live longer: most customers come back after more than a month, and a shopper whose activity expired
 * is ranked as a new one (`npm run eval -- --history served` measures what that costs).
 */
export const ACTIVITY_DAYS_DEFAULT = 30;
export const ACTIVITY_DAYS_SIGNED_IN_DEFAULT = 365;

/**
 * How much one event says about what a shopper wants. A removal says nothing more: the item's earlier
 * `cart` entry keeps its weight (the shopper did want it), and the removal only ends its cart place.
 */
export const ACTIVITY_KIND_WEIGHT: Readonly<Record<ActivityKind, number>> = {
  purchase: 1,
  cart: 0.8,
  click: 0.6,
  view: 0.5,
  removed: 0,
};

/**
 * Each older event counts a little less (the list is newest first): an entry weighs 0.92^n, n the
 * number of newer events. The entries of one event (an order's lines) share its time and its weight.
 */
export const ACTIVITY_RECENCY_DECAY = 0.92;

/**
 * Weighs the entries of a newest-first activity list, called once per entry in order: its kind's weight
 * × ACTIVITY_RECENCY_DECAY per newer event. One event is one step back: the entries of one event (an
 * order's lines) share its time and weigh alike, where counting entries made an order's 30th line weigh
 * 0.92^29 of its first (as served on Online Retail, nDCG@10 0.0757 by entry, 0.0839 by event:
 * docs/trainer.md). The worker's history vector and the trainer's emulation of it both weigh with this.
 */
export function activityWeigher(): (kind: ActivityKind, at: number) => number {
  let step = -1;
  let previousAt: number | undefined;
  return (kind, at) => {
    if (at !== previousAt) {
      step += 1;
      previousAt = at;
    }
    return ACTIVITY_KIND_WEIGHT[kind] * ACTIVITY_RECENCY_DECAY ** step;
  };
}
