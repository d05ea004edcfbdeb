/**
 * Which products an event is about, read one way by everyone who reads events: the consumer's activity
 * (what the worker serves from), the trainer (what the models learn from) and the experiment report
 * (which ordered products a recommendation click led to). Segment's e-commerce spec puts an order's or a
 * cart's lines in `properties.products[]` and a single product's fields at the top level; a product is
 * named by `product_id`, else by `sku` (shops that send only SKUs). Read three ways before, a shop
 * sending only `sku` trained a catalogue whose ids the worker never recorded as activity.
 */
import type { ProductProperties, RxEvent } from './event-types';

/** One product an event names, with its own fields (an order line's, or the top-level product's). */
export interface EventProduct {
  id: string;
  fields: ProductProperties;
}

/** The products of `event`: `properties.products[]` if it has any, else the top-level product. */
export function eventProductsOf(event: Pick<RxEvent, 'properties'>): EventProduct[] {
  const properties = event.properties ?? {};
  const lines = properties.products && properties.products.length > 0 ? properties.products : [properties];
  const products: EventProduct[] = [];
  for (const fields of lines) {
    const id = fields.product_id ?? fields.sku;
    if (id !== undefined && id !== '') products.push({ id: String(id), fields });
  }
  return products;
}

/** The distinct ids of eventProductsOf, in order. */
export function eventProductIds(event: Pick<RxEvent, 'properties'>): string[] {
  return [...new Set(eventProductsOf(event).map((product) => product.id))];
}
