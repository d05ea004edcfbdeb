import type { ActivityEntry } from '../cache/keys';

/**
 * The shopper's current cart as their activity tells it (newest first), for a `cart` slot that names
 * no `product_ids`: items added and not removed since, newest first. An order ends the cart: entries
 * older than the newest purchase belong to a cart that was bought (or abandoned before it), so they
 * are not in today's. Segment's `Order Completed` carries the bought products, which is all we see of
 * a checkout; a shop that keeps the rest of a cart after an order should name `product_ids`.
 */
export function cartOfActivity(activity: readonly ActivityEntry[]): string[] {
  const cart: string[] = [];
  const decided = new Set<string>();
  for (const entry of activity) {
    if (entry.kind === 'purchase') break;
    if (entry.kind !== 'cart' && entry.kind !== 'removed') continue;
    if (decided.has(entry.product_id)) continue;
    decided.add(entry.product_id);
    if (entry.kind === 'cart') cart.push(entry.product_id);
  }
  return cart;
}
