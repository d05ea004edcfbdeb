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
  activityWeigher,
} from '../../contracts/activity';
import { type InteractionMatrix, type SparseMatrix, toCsr } from '../data/matrix';
import type { Interaction } from '../data/types';
import { activityEntries, cartOf, type ListEntry } from './activity-list';

/** The histories a model ranks from and the items it must not recommend, one row per training user. */
export interface ServedHistories {
  histories: SparseMatrix;
  masks: SparseMatrix;
  /** Training users whose activity had expired by the cut-off (empty history, nothing masked). */
  expired: number;
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
    const events = byUser.get(user) ?? [];
    const anonymous = events.length > 0 && events.every((event) => event.anonymous);
    const ttl = (anonymous ? lifetimes.anonymousSeconds : lifetimes.signedInSeconds) * 1000;
    // The entries the keys still held at the cut-off: an event renews them (a removal too: the consumer
    // pushes its entry), so no event for a whole lifetime before the next one (or the cut-off) means
    // they had expired, with everything before.
    const held: ListEntry[] = [];
    let newer = cutoff;
    for (const entry of activityEntries(events)) {
      if (newer - entry.interaction.time > ttl) break;
      newer = entry.interaction.time;
      held.push(entry);
    }
    // Weighed as the worker weighs its list (one event, one step back; an order's lines share it), a
    // removal taking its step and place with no weight (recommend/history.ts).
    const weigh = activityWeigher();
    for (const { interaction, kind } of held.slice(0, ACTIVITY_MAX)) {
      const weight = weigh(kind, interaction.time);
      const column = train.itemIndex.get(interaction.item);
      if (column !== undefined && kind !== 'removed')
        history.set(column, (history.get(column) ?? 0) + weight);
    }
    // Every purchase the set still holds, and the cart as the worker reads it from the list.
    const purchases = held
      .filter((entry) => entry.kind === 'purchase')
      .map((entry) => entry.interaction.item);
    for (const item of [...purchases, ...cartOf(held)]) {
      const column = train.itemIndex.get(item);
      if (column !== undefined) mask.set(column, 1);
    }
    if (held.length === 0) expired += 1;
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
