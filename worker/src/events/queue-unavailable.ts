import type { Context } from 'hono';
import { errorBody } from '../errors';
import type { QueueSendError } from './producer';

/** Seconds a sender should wait before retrying when the queue refused its events. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * 503 with `Retry-After`: the queue refused the events and the sender should retry (with the same
 * `messageId`s, which makes a retry harmless if part of the batch did get through). When the outbox
 * holds them (`held`), the message says so: they are queued later even without a retry.
 */
export function queueUnavailable(c: Context, error: Pick<QueueSendError, 'held' | 'heldWithoutOwnIds'>) {
  let message = error.held
    ? 'Events could not be queued; the worker holds them and queues them when the queue recovers. Retry later with the same messageIds to be sure (each is stored once)'
    : 'Events could not be queued; retry later with the same messageIds';
  // An event sent without a messageId is held under one the worker made: the same event sent again
  // gets another, and is stored twice. Its sender is told not to, here, where it can still act on it.
  if (error.held && error.heldWithoutOwnIds > 0) {
    message += `. ${error.heldWithoutOwnIds} of them came without a messageId and are held under ids the worker made: do not send those again, or they are stored twice`;
  }
  return c.json(errorBody('queue_unavailable', message), 503, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}
