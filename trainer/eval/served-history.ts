/**
 * The history the worker would hold for each shopper at the evaluation's cut-off, rebuilt from the
 * training interactions (`npm run eval -- --history served`). The worker ranks from its Redis activity
 * list, not from everything a shopper ever did (contracts/activity.ts): the newest ACTIVITY_MAX entries,
 * each weighted by its kind × 0.92^(newer events), and nothing at all once its lifetime has passed without an
 * event (the keys expire; each event renews them): ACTIVITY_DAYS_SIGNED_IN, 365 days by default, for a
 * signed-in shopper, as the customers of an order history are, and ACTIVITY_DAYS, 30, for one who never
 * signed in (read from events); `--activity-days D` gives every shopper D. What it never recommends again is the purchases set, which expires the same way (the worker
 * renews it with the generation, on every event but a re-view of one of the newest products). So a
 * customer whose activity expired is, to the worker, a new one.
 */
import {
  ACTIVITY_DAYS_DEFAULT,
  ACTIVITY_DAYS_SIGNED_IN_DEFAULT,
  ACTIVITY_MAX,
  type ActivityKind,
  activityWeigher,
} from '../../contracts/activity';
import { type InteractionMatrix, type SparseMatrix, toCsr } from '../data/matrix';
import type { Interaction } from '../data/types';

/** The histories a model ranks from and the items it must not recommend, one row per training user. */
export interface ServedHistories {
  histories: SparseMatrix;
  masks: SparseMatrix;
  /** Training users whose activity had expired by the cut-off (empty history, nothing masked). */
  expired: number;
}

/**
 * The activity entry an interaction would have been, `null` for none. Read from events, it is the
 * consumer's own (`activity`: a `Checkout Started` records nothing). Otherwise (order histories, the
 * tests' interactions) from the weight: purchases are purchases, weight 3 a cart entry, 1.5 (a
 * recommendation click) a click, and the rest views.
 */
export function kindOf(interaction: Interaction): ActivityKind | null {
  if (interaction.activity !== undefined) return interaction.activity;
  if (interaction.purchase) return 'purchase';
  if (interaction.weight >= 3) return 'cart';
  if (interaction.weight > 1) return 'click';
  return 'view';
}

/** How long the worker keeps a shopper's activity after their last event, by the kind of shopper. */
export interface ActivityLifetimes {
  signedInSeconds: number;
  anonymousSeconds: number;
}

/** The worker's defaults (ACTIVITY_DAYS_SIGNED_IN, ACTIVITY_DAYS), or one lifetime for every shopper. */
export function activityLifetimes(days?: number): ActivityLifetimes {
  return {
    signedInSeconds: (days ?? ACTIVITY_DAYS_SIGNED_IN_DEFAULT) * 86_400,
    anonymousSeconds: (days ?? ACTIVITY_DAYS_DEFAULT) * 86_400,
  };
}

/** Each training user's served history and exclusions at `cutoff` (epoch ms), rows as in `train`. */
export function servedHistories(
  train: InteractionMatrix,
  interactions: readonly Interaction[],
  cutoff: number,
  /**
   * How long activity lives after a shopper's last event. A user every interaction of whom is
   * `anonymous` (read from events, never signed in) gets the anonymous lifetime; others (every
   * customer of an order history) the signed-in one.
   */
  lifetimes: ActivityLifetimes = activityLifetimes(),
): ServedHistories {
  const byUser = new Map<string, Interaction[]>();
  for (const interaction of interactions) {
    const list = byUser.get(interaction.user) ?? [];
    list.push(interaction);
    byUser.set(interaction.user, list);
  }
  const historyRows: Array<Map<number, number>> = [];
  const maskRows: Array<Map<number, number>> = [];
  let expired = 0;
  for (const user of train.users) {
    const history = new Map<number, number>();
    const mask = new Map<number, number>();
    // Newest first, as the list is. At one time (an order's lines) the later line first: the consumer
    // LPUSHes an event's products in order, so the list holds its last line at the head, and of an
    // order longer than ACTIVITY_MAX keeps the last lines. (A stable sort of the reversed input.)
    const events = (byUser.get(user) ?? []).slice().reverse();
    const anonymous = events.length > 0 && events.every((event) => event.anonymous);
    const ttl = (anonymous ? lifetimes.anonymousSeconds : lifetimes.signedInSeconds) * 1000;
    events.sort((a, b) => b.time - a.time);
    const seen = new Set<string>();
    let newer = cutoff;
    let position = 0;
    let ordered = false;
    const weigh = activityWeigher();
    for (const event of events) {
      const kind = kindOf(event);
      // An event the consumer records nothing for renews nothing either.
      if (kind === null) continue;
      // No event for a whole lifetime before the next one (or the cut-off): the keys had expired.
      if (newer - event.time > ttl) break;
      newer = event.time;
      // A product twice at one time (two lines of one order) is one entry: the consumer records an
      // event's products once each, and the worker's reader drops an entry repeated (same product,
      // kind and time).
      const identity = `${event.item}\n${kind}\n${event.time}`;
      if (seen.has(identity)) continue;
      seen.add(identity);
      // Weighed as the worker weighs its list (one event, one step back; an order's lines share it).
      const weight = weigh(kind, event.time);
      const column = train.itemIndex.get(event.item);
      if (column !== undefined && kind === 'purchase') mask.set(column, 1);
      // The cart, as the worker reads it from the list (cartOfActivity): what was added after the
      // newest order (`Product Removed` is not read here, so an item taken out still counts).
      if (kind === 'purchase') ordered = true;
      if (column !== undefined && kind === 'cart' && !ordered && position < ACTIVITY_MAX) mask.set(column, 1);
      if (column !== undefined && position < ACTIVITY_MAX)
        history.set(column, (history.get(column) ?? 0) + weight);
      position += 1;
    }
    if (position === 0) expired += 1;
    historyRows.push(history);
    maskRows.push(mask);
  }
  const cols = train.items.length;
  return {
    histories: toCsr(historyRows, cols, (sum) => sum),
    masks: toCsr(maskRows, cols, (sum) => sum),
    expired,
  };
}
