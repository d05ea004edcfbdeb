/**
 * What an event says about the experiment: a recommendation impression, a recommendation click, an
 * order or a refund. The trainer's `npm run report` (trainer/experiment/tally.ts) and the consumer's
 * live counters (worker/src/live/) read events through these functions, so the live screen and the
 * report count the same things.
 */
import type { StoredEvent } from './events';
import { type OrderValue, orderValue, UNKNOWN_CURRENCY } from './order-value';

export const ORDER_COMPLETED = 'Order Completed';
/** Segment's e-commerce v2 refund: `order_id`, and `total` (or `revenue`), `currency`, `products`. */
export const ORDER_REFUNDED = 'Order Refunded';
export const RECOMMENDATION_SHOWN = 'Recommendation Shown';
export const RECOMMENDATION_CLICKED = 'Recommendation Clicked';

/** An event's part in the experiment; `placement` is whatever the event named (undefined when none). */
export type ExperimentRole =
  | { kind: 'impression'; placement: string | undefined }
  | { kind: 'click'; placement: string | undefined }
  | { kind: 'order' }
  | { kind: 'refund' }
  /**
   * An order or refund worth more than MAX_ORDER_VALUE (or not a finite amount): a mistake, counted
   * nowhere, not even as an event (the report skips it as it reads it, so the live counters do too).
   */
  | { kind: 'implausible' }
  | { kind: 'other' };

/**
 * Impressions are `Recommendation Shown` events (the plugin's, one per block it filled) and page views
 * the proxy sent for pages it filled (one per page: they carry the recommendation_id of what it filled,
 * worker/src/proxy/page-view.ts); such a page view's placement is its page name, `product` for a
 * product page.
 *
 * Refunds are `Order Refunded` events, and `Order Completed` events worth less than 0 (how some shops,
 * and the UCI Online Retail data's cancelled invoices, record a cancellation): such an event is no
 * order (no conversion) but a refund of what it says (see refundValue).
 */
export function experimentRoleOf(event: StoredEvent): ExperimentRole {
  if (isFilledPageView(event))
    return { kind: 'impression', placement: event.type === 'page' ? event.name : 'product' };
  if (event.type !== 'track') return { kind: 'other' };
  if (event.event === ORDER_COMPLETED || event.event === ORDER_REFUNDED) {
    const value = orderValue(event);
    if (!plausibleValue(value)) return { kind: 'implausible' };
    return event.event === ORDER_COMPLETED && value.revenue >= 0 ? { kind: 'order' } : { kind: 'refund' };
  }
  if (event.event === RECOMMENDATION_SHOWN)
    return { kind: 'impression', placement: event.properties?.placement };
  if (event.event === RECOMMENDATION_CLICKED)
    return { kind: 'click', placement: event.properties?.placement };
  return { kind: 'other' };
}

/**
 * The most an order, or a line of it, may be worth, in any currency: above it, a value is a mistake
 * (a price in the wrong unit, a test order). The events' schema takes any number (1e200 too): counted,
 * its square made the report's revenue sums infinite ("NaN % to NaN %"), and a few such orders in a
 * day took the live counters' revenue (thousandths, by HINCRBY) past 2^53, where the screen drops it.
 */
export const MAX_ORDER_VALUE = 1e12;

/** Whether an order's revenue and each line's value are finite and at most MAX_ORDER_VALUE either way. */
export function plausibleValue(order: OrderValue): boolean {
  const fits = (value: number) => Number.isFinite(value) && Math.abs(value) <= MAX_ORDER_VALUE;
  return fits(order.revenue) && order.lines.every((line) => line.value === undefined || fits(line.value));
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

/** What a refund event says it gave back. */
export interface RefundValue {
  /**
   * How much, at least 0 (a negative amount, as some senders write a refund, counts as its size): its
   * `revenue`, else `total`, else its products' price × quantity; undefined when it says none of them
   * (a full refund: the refunded order's own value, when that order is known).
   */
  amount: number | undefined;
  /** Three letters, upper case; undefined when it names none (then the refunded order's currency). */
  currency: string | undefined;
}

/** What a refund event (experimentRoleOf `refund`) gives back. */
export function refundValue(event: StoredEvent): RefundValue {
  const value = orderValue(event);
  return {
    amount: value.priced ? Math.abs(value.revenue) : undefined,
    currency: value.currency === UNKNOWN_CURRENCY ? undefined : value.currency,
  };
}

/**
 * An amount in thousandths of its currency's unit, as the refunds are told apart (two reports of the
 * same order_id and amount are one refund) and as the live counters add money (exact integers).
 */
export function milliOf(amount: number): number {
  return Math.round(amount * 1000);
}

/**
 * What one more refund of an order takes off its revenue, in thousandths: the refunds of one order
 * take off at most what the order was worth (`orderMilli`, in the same currency; undefined when the
 * order is not known or has no value there, and then the refund's own amount). `previousMilli` is the
 * sum of the order's other refunds in that currency (each distinct order_id + amount once). So the
 * total taken off an order is min(order, sum of its refunds), whatever order the refunds come in: a
 * full refund without an amount and the shop's later report of the same refund with one, or a
 * refund's `total` with tax and shipping against an order valued by its `revenue`, never make an
 * order worth less than 0.
 */
export function refundIncrement(
  orderMilli: number | undefined,
  previousMilli: number,
  milli: number,
): number {
  if (orderMilli === undefined) return milli;
  const before = Math.min(orderMilli, previousMilli);
  return Math.max(0, Math.min(orderMilli, previousMilli + milli) - before);
}
