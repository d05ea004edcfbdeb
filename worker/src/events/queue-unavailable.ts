import type { Context } from 'hono';
import { errorBody } from '../errors';

/** Seconds a sender should wait before retrying when the queue refused its events. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * 503 with `Retry-After`: the events were NOT stored and the sender should retry (with the
 * same `messageId`s, which makes a retry harmless if part of the batch did get through).
 */
export function queueUnavailable(c: Context) {
  return c.json(
    errorBody('queue_unavailable', 'Events could not be queued; retry later with the same messageIds'),
    503,
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}
