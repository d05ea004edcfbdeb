import type { StoredEvent } from './event-types';

/**
 * How an event is stored in MongoDB (collection `events`): the stored event with
 * `_id` = `messageId` (the idempotency key) and its two times as BSON dates, so
 * range queries and the `(userId|anonymousId, timestamp)` indexes work on real dates.
 */
export type EventDocument = Omit<StoredEvent, 'timestamp' | 'receivedAt'> & {
  _id: string;
  timestamp: Date;
  receivedAt: Date;
};

/** The MongoDB document for a stored event. Pure: no driver types. */
export function toEventDocument(event: StoredEvent): EventDocument {
  return {
    ...event,
    _id: event.messageId,
    timestamp: new Date(event.timestamp),
    receivedAt: new Date(event.receivedAt),
  };
}

/**
 * Back from a MongoDB document to the contract's stored form (ISO strings), for readers
 * such as the trainer; validate the result with `validateStoredEvent` from `./events`.
 */
export function fromEventDocument(document: Record<string, unknown>): Record<string, unknown> {
  const { _id, ...rest } = document;
  const out: Record<string, unknown> = { ...rest };
  if (out.messageId === undefined && typeof _id === 'string') out.messageId = _id;
  for (const key of ['timestamp', 'receivedAt'] as const) {
    const value = out[key];
    if (value instanceof Date) out[key] = value.toISOString();
  }
  return out;
}
