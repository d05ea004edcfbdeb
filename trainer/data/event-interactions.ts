/** Turns one raw event (from JSONL or MongoDB) into weighted interactions, counting what it skips. */
import { activityKindOf, isCancellation } from '../../contracts/activity';
import { validateEvent } from '../../contracts/events';
import { eventProducts, eventWeightOf } from './event-weights';
import { anonymousUserKey, type IdentityLinks } from './identities';
import { type Interaction, type ItemStats, observeItem, type ReadReport } from './types';

/** A raw event as read (validated here). */
export type EventRecord = Record<string, unknown>;

/** Interactions of one event; `position` is its line (JSONL) or document number (MongoDB). */
export function* eventInteractions(
  raw: EventRecord,
  position: number,
  report: ReadReport,
  items: Map<string, ItemStats>,
  identities?: IdentityLinks,
): Generator<Interaction> {
  report.rows.read += 1;
  // Stored events: the worker's own fields (receivedAt, site, bucket, ...) made one at the intake's
  // 32 KB limit larger; the limit was the intake's to apply, not a reason to skip a big order here.
  const checked = validateEvent(raw, { maxBytes: Number.POSITIVE_INFINITY });
  if (!checked.ok) {
    const first = checked.problems[0];
    report.skip(
      `invalid event: ${first?.field ? `${first.field} ` : ''}${first?.reason ?? 'rejected'}`,
      position,
    );
    return;
  }
  const event = checked.event;
  const time = event.timestamp ? Date.parse(event.timestamp) : Number.NaN;
  // Any event with both ids links them: a track event after sign-in, or `rx.identify`'s own. Its time
  // is when the link became known (a split's cut-off uses only the links known by then).
  if (event.userId && event.anonymousId) identities?.link(event.anonymousId, event.userId, time);
  if (event.type === 'identify') return report.skip('identify event (links ids, no product)', position);
  if (event.type !== 'track' || !event.event) return report.skip('not a track event', position);
  const activity = activityKindOf(event.event) ?? null;
  // A removal from the cart weighs nothing (isSignal) but is read: the worker's activity list holds it,
  // and the cart eval masks is the list's (eval/activity-list.ts).
  const weight = activity === 'removed' ? 0 : eventWeightOf(event.event);
  if (weight === undefined) return report.skip('event without product signal', position);
  if (isCancellation(event)) return report.skip('a cancellation (an order worth less than 0)', position);
  // Identified shoppers are one person across devices; otherwise the anonymous id is the person, in a
  // namespace of its own (browser `42` is not customer `42`) until stitching links it to a user.
  const anonymousId = event.userId ? undefined : event.anonymousId;
  const user = event.userId ?? (anonymousId ? anonymousUserKey(String(anonymousId)) : undefined);
  if (!user) return report.skip('no userId or anonymousId', position);
  if (!Number.isFinite(time)) return report.skip('missing timestamp', position);
  const purchase = event.event === 'Order Completed';
  const listed = eventProducts(event);
  if (listed.length === 0) return report.skip('no product_id', position);
  // A line of an order with quantity 0 was not bought (the order lists it, none of it was sold): it is
  // no interaction at all, neither a purchase of weight 5 nor a weaker signal, since it says nothing
  // sure about the shopper; its title and price are not taken either. The forecast leaves such lines
  // out too (it counts quantities), and an order export's non-positive quantities are skipped as stock
  // adjustments. A product without a quantity is one, as Segment has it.
  const products = purchase ? listed.filter((p) => p.quantity > 0) : listed;
  for (let zero = listed.length - products.length; zero > 0; zero--)
    report.skip('order line of quantity 0 (not bought)', position);
  if (products.length === 0) return;
  report.rows.kept += 1;
  const site = typeof raw.site === 'string' ? raw.site : undefined;
  const orderId = event.properties?.order_id;
  for (const p of products) {
    // A removal describes a product its add described already, and one only ever removed is in no
    // model: its title and price are not taken.
    if (activity !== 'removed')
      observeItem(items, {
        item: p.id,
        ...(p.title ? { title: p.title } : {}),
        ...(p.price !== undefined ? { price: p.price } : {}),
        ...(p.currency ? { currency: p.currency } : {}),
        ...(p.category ? { category: p.category } : {}),
      });
    yield {
      user: String(user),
      item: p.id,
      time,
      weight,
      purchase,
      quantity: purchase ? p.quantity : 0,
      ...(site ? { store: site } : {}),
      // Orders are baskets; for other events the shopper's day is the session.
      basket: orderId ? `order:${orderId}` : `${user}:${new Date(time).toISOString().slice(0, 10)}`,
      ...(anonymousId ? { anonymous: true as const, anonymousId: String(anonymousId) } : {}),
      activity,
    };
  }
}
