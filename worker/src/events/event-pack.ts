import { jsonByteSize, type StoredEvent } from '../../../contracts/events';
import { QUEUE_LIMITS, type SizedMessage } from './queue-chunks';

/**
 * The body of one `EVENTS` queue message: up to `PACK_LIMITS.maxEvents` enriched events together.
 *
 * Why packs and not one event per message: Cloudflare Queues takes at most 5,000 messages a second
 * per queue and bills each message (per 64 KB), so one message per event capped a shop at 5,000
 * events/s and made a 50-event flush cost 50 writes, reads and deletes. Packed, a request's events
 * travel as one message (or a few, within the size limit). The consumer acks a pack once every event
 * in it is settled (stored, already there, or recorded as rejected), and retries the whole pack
 * otherwise: storing is idempotent by `messageId`, so the events that did land are not doubled.
 *
 * The consumer still takes a message whose body is a single event (the shape before packs): messages
 * already queued or in the dead-letter queue when a worker with packs is deployed are stored as before.
 */
export interface EventPack {
  kind: typeof EVENT_PACK_KIND;
  events: StoredEvent[];
}

export const EVENT_PACK_KIND = 'rx.events.v1';

export const PACK_LIMITS = {
  /** Events per message: bounds what one retry redoes and a consumer batch holds (100 messages). */
  maxEvents: 100,
  /**
   * Bytes per message body: below the 128 KB message limit with the metadata allowance, and 1 KB more.
   * Cloudflare documents the metadata as "~100 bytes"; should it count more, a pack filled to the
   * exact bound would be refused on every send, the intake would answer 503 for it and the outbox
   * would resend it forever, holding back every event behind it. 1 KB less per pack costs nothing.
   */
  maxBytes: QUEUE_LIMITS.maxMessageBytes - QUEUE_LIMITS.metadataBytes - 1_000,
} as const;

/** `{"kind":"rx.events.v1","events":[]}`: what a pack adds around its events' JSON. */
const PACK_OVERHEAD_BYTES = jsonByteSize({ kind: EVENT_PACK_KIND, events: [] });

/**
 * Packs events into as few messages as the limits allow, keeping their order, each with its JSON size.
 * An event too large for a message of its own (never, for events within the intake's 32 KB limit)
 * still gets one; `chunkForQueue` then refuses it by name.
 */
export function packEvents(events: readonly StoredEvent[]): SizedMessage<EventPack>[] {
  const packs: SizedMessage<EventPack>[] = [];
  let current: StoredEvent[] = [];
  let currentBytes = PACK_OVERHEAD_BYTES;
  for (const event of events) {
    const bytes = jsonByteSize(event);
    // `+ 1`: the comma before it in a pack that already has events.
    if (
      current.length > 0 &&
      (current.length === PACK_LIMITS.maxEvents || currentBytes + 1 + bytes > PACK_LIMITS.maxBytes)
    ) {
      packs.push({ body: { kind: EVENT_PACK_KIND, events: current }, bytes: currentBytes });
      current = [];
      currentBytes = PACK_OVERHEAD_BYTES;
    }
    currentBytes += (current.length > 0 ? 1 : 0) + bytes;
    current.push(event);
  }
  if (current.length > 0)
    packs.push({ body: { kind: EVENT_PACK_KIND, events: current }, bytes: currentBytes });
  return packs;
}

/**
 * The events a queue message carries: a pack's entries, or the body itself for a single-event message.
 * Entries are not validated here; the consumer validates each one.
 */
export function eventsOfMessageBody(body: unknown): { packed: boolean; entries: unknown[] } {
  if (
    typeof body === 'object' &&
    body !== null &&
    (body as { kind?: unknown }).kind === EVENT_PACK_KIND &&
    Array.isArray((body as { events?: unknown }).events) &&
    (body as { events: unknown[] }).events.length > 0
  ) {
    return { packed: true, entries: (body as { events: unknown[] }).events };
  }
  return { packed: false, entries: [body] };
}
