/**
 * A shopper's activity list as the worker holds and reads it, rebuilt from their interactions, and the
 * cart it reads from the list. The offline rules (servedExclusions, servedHistories) use these so that
 * eval's, validation's and `recommend`'s lists leave out what the worker's leave out.
 */
import { ACTIVITY_MAX, type ActivityKind } from '../../contracts/activity';
import type { Interaction } from '../data/types';

/**
 * The activity entry an interaction would have been, `null` for none. Read from events, it is the
 * consumer's own (`activity`: a `Checkout Started` records nothing, a `Product Removed` a removal).
 * Otherwise (order histories, the tests' interactions) from the weight: purchases are purchases,
 * weight 3 a cart entry, 1.5 (a recommendation click) a click, and the rest views.
 */
export function kindOf(interaction: Interaction): ActivityKind | null {
  if (interaction.activity !== undefined) return interaction.activity;
  if (interaction.purchase) return 'purchase';
  if (interaction.weight >= 3) return 'cart';
  if (interaction.weight > 1) return 'click';
  return 'view';
}

/** One entry of the list: the interaction it was recorded for, and its kind. */
export interface ListEntry {
  interaction: Interaction;
  kind: ActivityKind;
}

/**
 * One shopper's entries newest first, each event once, as the worker's lookup reads them
 * (cache/activity-list.ts mergeActivity), before its ACTIVITY_MAX cap and before expiry. An interaction
 * the consumer records nothing for (a `Checkout Started`) is no entry. At one time (an order's lines)
 * the later one first: the consumer LPUSHes an event's products in order, so the list holds its last
 * line at the head (a stable sort of the reversed input). A product twice at one time (two lines of
 * one order) is one entry: the consumer records an event's products once each, and the reader drops an
 * entry repeated (same product, kind and time).
 */
export function activityEntries(interactions: readonly Interaction[]): ListEntry[] {
  const sorted = interactions.slice().reverse();
  sorted.sort((a, b) => b.time - a.time);
  const seen = new Set<string>();
  const entries: ListEntry[] = [];
  for (const interaction of sorted) {
    const kind = kindOf(interaction);
    if (kind === null) continue;
    const identity = `${interaction.item}\n${kind}\n${interaction.time}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    entries.push({ interaction, kind });
  }
  return entries;
}

/**
 * The items in the cart, as the worker's cartOfActivity (recommend/cart.ts) reads it from the newest
 * ACTIVITY_MAX entries: an order ends the cart (what came before it was bought or abandoned), and per
 * product the newest of its adds and removals decides, so an item taken out is not in it until added
 * again. Every entry takes its place in the list, a removal's too.
 */
export function cartOf(entries: readonly ListEntry[]): string[] {
  const cart: string[] = [];
  const decided = new Set<string>();
  for (const { interaction, kind } of entries.slice(0, ACTIVITY_MAX)) {
    if (kind === 'purchase') break;
    if (kind !== 'cart' && kind !== 'removed') continue;
    if (decided.has(interaction.item)) continue;
    decided.add(interaction.item);
    if (kind === 'cart') cart.push(interaction.item);
  }
  return cart;
}
