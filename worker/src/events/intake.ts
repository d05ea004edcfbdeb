import { type RxEvent, validateEvent } from '../../../contracts/events';
import type { Env } from '../env';
import { ApiError, type ErrorDetail } from '../errors';
import type { EnrichOptions } from './enrich';
import { enrichEvents } from './enrich';
import { sendStoredEvents } from './producer';

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
 * `QueueSendError` when the queue refused them.
 */
export async function acceptEvents(
  env: Pick<Env, 'EVENTS' | 'SITE_ID' | 'HOLDOUT_PERCENT'>,
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
  await sendStoredEvents(env.EVENTS, await enrichEvents(env, valid, options));
  return { accepted: valid.length, rejected };
}
