import { type RxEvent, type StoredEvent, validateEvent } from '../../../contracts/events';
import type { Env } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import { log } from '../log';
import { logRepeating } from '../log-repeating';
import type { EnrichOptions } from './enrich';
import { enrichEvents } from './enrich';
import { holdStoredEvents } from './outbox';
import { QueueSendError, sendStoredEvents } from './producer';

/** What the intake answers: how many events were queued, and why the others were not. */
export interface IntakeResult {
  accepted: number;
  /** One entry per problem: `index` in the posted batch, `field` (dotted path) and `reason`. */
  rejected: ErrorDetail[];
}

/**
 * Validates each posted event on its own, queues the valid ones and lists the others with
 * their reasons (partial acceptance: one bad event does not cost the good ones).
 * Throws `ApiError` 400 (or 413 when every event was too large) when none is valid, and
 * `QueueSendError` when the queue refused them (held in the outbox, or not: see queueOrHold).
 */
export async function acceptEvents(
  env: Pick<Env, 'EVENTS' | 'EVENT_OUTBOX' | 'OUTBOX_SHARDS' | 'SITE_ID' | 'HOLDOUT_PERCENT'>,
  rawEvents: readonly unknown[],
  options: EnrichOptions = {},
): Promise<IntakeResult> {
  const valid: RxEvent[] = [];
  const rejected: ErrorDetail[] = [];
  let tooLarge = 0;
  rawEvents.forEach((raw, index) => {
    const check = validateEvent(raw);
    if (check.ok) {
      valid.push(check.event);
      return;
    }
    if (check.tooLarge) tooLarge++;
    for (const problem of check.problems) rejected.push({ index, ...problem });
  });

  if (valid.length === 0) {
    if (tooLarge === rawEvents.length) {
      throw new ApiError(413, 'event_too_large', 'Every event is over the 32 KB limit', rejected);
    }
    throw new ApiError(400, 'invalid_events', 'No event in the request is valid', rejected);
  }
  const withoutOwnIds = valid.filter((event) => event.messageId === undefined).length;
  await queueOrHold(env, await enrichEvents(env, valid, options), withoutOwnIds);
  return { accepted: valid.length, rejected };
}

/**
 * Queues the events. When the queue refuses them, the sender is told so (the route answers 503 with
 * retry advice, as the intake's contract says) AND the events are handed to the durable outbox, which
 * queues them once the queue takes events again: they then survive a Queues outage even if their
 * sender never retries (a shopper who left, a Segment library that gave up). A sender that does retry
 * is harmless: each `messageId` is stored once. The thrown `QueueSendError` says whether they are held.
 */
async function queueOrHold(
  env: Pick<Env, 'EVENTS' | 'EVENT_OUTBOX' | 'OUTBOX_SHARDS'>,
  events: StoredEvent[],
  withoutOwnIds: number,
): Promise<void> {
  try {
    await sendStoredEvents(env.EVENTS, events);
  } catch (error) {
    if (!(error instanceof QueueSendError)) throw error;
    try {
      const { waiting } = await holdStoredEvents(env, events);
      logRepeating('warn', 'events_held', { events: events.length, waiting });
    } catch (holdError) {
      log('error', 'events_not_held', { events: events.length, holdError });
      throw error;
    }
    throw new QueueSendError(error.failedEvents, { cause: error.cause }, true, withoutOwnIds);
  }
}
