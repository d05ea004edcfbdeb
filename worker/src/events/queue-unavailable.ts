import type { Context } from 'hono';
import { errorBody } from '../errors';

/** Seconds a sender should wait before retrying when the queue refused its events. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * 503 with `Retry-After`: the queue refused the events and the sender should retry (with the same
 * `messageId`s, which makes a retry harmless if part of the batch did get through). When the outbox
 * holds them (`held`), the message says so: they are queued later even without a retry.
 */
export function queueUnavailable(c: Context, held: boolean) {
  const message = held
    ? 'Events could not be queued; the worker holds them and queues them when the queue recovers. Retry later with the same messageIds to be sure (each is stored once)'
    : 'Events could not be queued; retry later with the same messageIds';
  return c.json(errorBody('queue_unavailable', message), 503, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}
