/**
 * Implicit feedback from behaviour events: how much each event says about a shopper's interest.
 * Viewing is weak evidence, adding to a cart stronger, buying strongest; list views and searches
 * say nothing about one product and are ignored. Repeats add up (with diminishing returns, see
 * `confidence` in matrix.ts). Old events can fade (`aggregate`'s half-life, `eval --half-life`); by
 * default they do not (docs/trainer.md "Recency").
 */
import { eventProductsOf } from '../../contracts/event-products';
import type { RxEvent } from '../../contracts/events';

/** Weight per Segment e-commerce event name; events not listed carry no product signal. */
export const EVENT_WEIGHTS: Readonly<Record<string, number>> = {
  'Product Viewed': 1,
  'Product Clicked': 1,
  'Recommendation Clicked': 1.5,
  'Product Added': 3,
  'Checkout Started': 3,
  'Order Completed': 5,
};

/**
 * The events the readers read: those with a weight, and `Product Removed`, which weighs nothing (it is
 * no signal: types.ts isSignal) but takes the product out of the cart the worker reads from a shopper's
 * activity, which eval, `train`'s validation and `recommend` mask as it does (eval/activity-list.ts).
 */
export const EVENTS_READ: readonly string[] = [...Object.keys(EVENT_WEIGHTS), 'Product Removed'];

/**
 * The weight of an event name, if it carries a product signal. Own keys only: the name is the sender's,
 * and a plain lookup of `constructor` or `toString` returns a function, whose weight is NaN in the matrix.
 */
export function eventWeightOf(eventName: string): number | undefined {
  return Object.hasOwn(EVENT_WEIGHTS, eventName) ? EVENT_WEIGHTS[eventName] : undefined;
}

/** Products an event is about (contracts/event-products.ts, as the worker reads them), with their fields. */
export function eventProducts(event: RxEvent): Array<{
  id: string;
  quantity: number;
  price?: number;
  currency?: string;
  title?: string;
  category?: string;
}> {
  const props = event.properties ?? {};
  return eventProductsOf(event).map(({ id, fields: p }) => ({
    id,
    quantity: p.quantity ?? 1,
    ...(p.price !== undefined ? { price: p.price } : {}),
    // A product's own currency, else the event's (Segment puts it on `properties`).
    ...((p.currency ?? props.currency) ? { currency: (p.currency ?? props.currency)?.toUpperCase() } : {}),
    ...(p.name ? { title: p.name } : {}),
    ...(p.category ? { category: p.category } : {}),
  }));
}
