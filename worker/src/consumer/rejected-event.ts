import type { EventProblem } from '../../../contracts/events';
import { withRedactedUrlsIfEvent } from '../events/url-redaction';

/** Largest piece of a rejected body kept, so one huge poison message cannot fail its own record. */
const MAX_RAW_CHARS = 64_000;

/**
 * A document of `rejected_events`: what could not be stored and why. The body is kept as
 * JSON text (never interpreted, and storable whatever field names it has).
 * `_id` is the queue message id (with `#index` for an entry of a pack), so a redelivered poison
 * message is recorded once.
 */
export interface RejectedEventDocument {
  _id: string;
  messageId: string | null;
  reason: string;
  problems: EventProblem[];
  raw: string;
  rawTruncated: boolean;
  queueMessageId: string;
  attempts: number;
  rejectedAt: Date;
}

/**
 * Builds the `rejected_events` record for a queue message, or for one entry of a pack (`entry`): that
 * entry's body is kept, and `_id` is the message id with `#index`, so a redelivered pack records each
 * bad entry once.
 */
export function rejectedEventDocument(
  message: { id: string; body: unknown; attempts: number },
  reason: string,
  problems: EventProblem[] = [],
  options: { entry?: { index: number; body: unknown } | undefined; now?: Date } = {},
): RejectedEventDocument {
  const body = options.entry ? options.entry.body : message.body;
  // A rejected body keeps what it was sent with, except a credential in its URL fields (as stored events).
  const raw = safeJson(withRedactedUrlsIfEvent(body));
  const messageId =
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { messageId?: unknown }).messageId === 'string'
      ? (body as { messageId: string }).messageId
      : null;
  return {
    _id: options.entry ? `${message.id}#${options.entry.index}` : message.id,
    messageId,
    reason,
    problems,
    raw: raw.slice(0, MAX_RAW_CHARS),
    rawTruncated: raw.length > MAX_RAW_CHARS,
    queueMessageId: message.id,
    attempts: message.attempts,
    rejectedAt: options.now ?? new Date(),
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
