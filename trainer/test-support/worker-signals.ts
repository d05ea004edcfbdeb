/**
 * What the worker holds of a shopper's events, for the trainer's tests that compare the offline copies
 * of its rules with the worker's own: the consumer's entries (activity/activity-of-event.ts) pushed as
 * record-activity.ts pushes them (newest at the head), read back as the lookup reads them
 * (cache/activity-list.ts mergeActivity: newest first, at most ACTIVITY_MAX), and what it never
 * recommends (recommend/compute.ts: the purchases set and cartOfActivity).
 */
import { validateEvent } from '../../contracts/events';
import { activityOf } from '../../worker/src/activity/activity-of-event';
import { mergeActivity } from '../../worker/src/cache/activity-list';
import type { ActivityEntry } from '../../worker/src/cache/keys';
import { cartOfActivity } from '../../worker/src/recommend/cart';
import type { EventRecord } from '../data/event-interactions';

/** One shopper's list as the worker reads it and the products it masks, from their events in order. */
export function workerSignals(events: readonly EventRecord[]): {
  activity: ActivityEntry[];
  masked: string[];
} {
  const list: ActivityEntry[] = [];
  const purchased = new Set<string>();
  for (const raw of events) {
    const checked = validateEvent(raw);
    if (!checked.ok) throw new Error(`invalid fixture event: ${JSON.stringify(checked.problems)}`);
    const timestamp = String(raw.timestamp);
    const activity = activityOf({
      ...checked.event,
      messageId: String(raw.messageId ?? timestamp),
      timestamp,
      receivedAt: timestamp,
      site: 'shop',
      bucket: 'treatment',
      model_version: null,
    });
    // LPUSH of the entries oldest first: the last one ends up at the head.
    for (const entry of activity.entries) list.unshift(entry);
    for (const id of activity.purchased) purchased.add(id);
  }
  const activity = mergeActivity(list, []);
  return { activity, masked: [...new Set([...purchased, ...cartOfActivity(activity)])].sort() };
}
