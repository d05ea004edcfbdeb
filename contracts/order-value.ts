/**
 * What one `Order Completed` event is worth to the experiment report, by Segment's e-commerce spec:
 * `properties.revenue`, else `total`, else the sum of its products' price × quantity.
 */
import type { StoredEvent } from './events';

/** One product of an order: its id and what it added to the order (price × quantity), when priced. */
export interface OrderLine {
  product: string;
  value: number | undefined;
}

export interface OrderValue {
  /** Three letters, upper case; `???` when neither the order nor a product names one. */
  currency: string;
  /** 0 when nothing in the event says (then `priced` is false). */
  revenue: number;
  priced: boolean;
  lines: OrderLine[];
}

/** Marks a currency that no field named. */
export const UNKNOWN_CURRENCY = '???';

/** The value of an order event. */
export function orderValue(event: Pick<StoredEvent, 'properties'>): OrderValue {
  const properties = event.properties ?? {};
  const products = properties.products && properties.products.length > 0 ? properties.products : [properties];
  const lines: OrderLine[] = [];
  let linesTotal = 0;
  let linesPriced = false;
  for (const product of products) {
    const id = product.product_id ?? product.sku;
    const value = product.price === undefined ? undefined : product.price * (product.quantity ?? 1);
    if (value !== undefined) {
      linesTotal += value;
      linesPriced = true;
    }
    // A line of quantity 0 bought nothing (the trainer and the worker's activity read it so): no line
    // whose product a recommendation click could be credited with.
    if (id !== undefined && product.quantity !== 0) lines.push({ product: String(id), value });
  }
  const stated = finite(properties.revenue) ?? finite(properties.total);
  const currency = (properties.currency ?? products.find((p) => p.currency)?.currency)?.toUpperCase();
  return {
    currency: currency ?? UNKNOWN_CURRENCY,
    revenue: stated ?? linesTotal,
    priced: stated !== undefined || linesPriced,
    lines,
  };
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
