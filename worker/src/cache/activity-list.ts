import { z } from 'zod';
import { MAX_ID_CHARS } from '../../../contracts/events';
import { ACTIVITY_MAX, type ActivityEntry } from './keys';

const ActivityEntrySchema = z.object({
  // As long as an event's id may be: a shorter limit here dropped such products from histories.
  product_id: z.string().min(1).max(MAX_ID_CHARS),
  kind: z.enum(['view', 'cart', 'purchase', 'click', 'removed']),
  at: z.number(),
});

/** A Redis activity list (JSON texts) as entries; a malformed entry written by something else is skipped. */
export function parseActivity(raw: unknown): ActivityEntry[] {
  if (!Array.isArray(raw)) return [];
  const entries: ActivityEntry[] = [];
  for (const value of raw) {
    if (typeof value !== 'string') continue;
    try {
      const parsed = ActivityEntrySchema.safeParse(JSON.parse(value));
      if (parsed.success) entries.push(parsed.data);
    } catch {
      // not JSON: skipped
    }
  }
  return entries;
}

/**
 * What tells one event's entry from another's: product, kind and time. The lookup keeps each event once
 * by it (mergeActivity), and the consumer pushes a redelivered event's entry only where the list holds
 * none with it (activity/record-activity.ts). Raw list entries are unchecked, hence `unknown`.
 */
export function activityEntryIdentity(productId: string, kind: unknown, at: unknown): string {
  return `${productId}\n${String(kind)}\n${String(at)}`;
}

/**
 * A shopper's history as the model reads it: newest first by the time of the event, each event once,
 * at most ACTIVITY_MAX entries. The lists in Redis are in order of delivery, not of time: the consumer
 * writes a logged-in shopper's events under both hashes, a redelivered batch may still push an entry
 * twice (the consumer skips entries the list already holds, but two messages carrying one event can
 * both land: record-activity.ts), and a late retry lands on top. Decay is by position (recommend/history.ts), so order
 * decides weight: sorting by `at` keeps a cart add of a second ago ahead of a view of last month.
 */
export function mergeActivity(
  own: readonly ActivityEntry[],
  session: readonly ActivityEntry[],
): ActivityEntry[] {
  const seen = new Set<string>();
  const merged: ActivityEntry[] = [];
  for (const entry of [...own, ...session]) {
    const identity = activityEntryIdentity(entry.product_id, entry.kind, entry.at);
    if (seen.has(identity)) continue;
    seen.add(identity);
    merged.push(entry);
  }
  // Stable: entries of the same moment (one order's products) keep their list order.
  merged.sort((a, b) => b.at - a.at);
  return merged.length > ACTIVITY_MAX ? merged.slice(0, ACTIVITY_MAX) : merged;
}
