import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import { describeIssues, EVENT_LIMITS, isMissingId } from '../../../contracts/events';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';
import { limitBodySize } from '../middleware/body-size-limit';
import { ANONYMOUS_ID_HEADER, anonymousIdFromCookieHeader, isAnonymousId } from '../shopper';
import { acceptEvents } from './intake';
import { acceptJsonBody } from './json-body';
import { QueueSendError } from './producer';
import { queueUnavailable } from './queue-unavailable';

/** `POST /v1/events` body: our batch format. Each element is validated on its own afterwards. */
const EventsEnvelopeSchema = z.object({
  batch: z
    .array(z.unknown())
    .min(1, 'must hold at least one event')
    .max(EVENT_LIMITS.maxBatchEvents, `must hold at most ${EVENT_LIMITS.maxBatchEvents} events`),
});

/**
 * `POST /v1/events` `{ "batch": [event, ...] }` → `202 { accepted, rejected }`; 400 with
 * per-event reasons when none is valid; 413 over 500 KB; 503 + Retry-After when the queue refused
 * (the durable outbox then holds the events and queues them later: intake.ts).
 * Events without `anonymousId`/`userId` get the shopper's `rx_uid` (cookie or header), so beacons
 * from proxied pages need not repeat it.
 */
export const eventRoutes = new Hono<AppEnv>().post(
  '/',
  limitBodySize(EVENT_LIMITS.maxBatchBytes),
  acceptJsonBody(EVENT_LIMITS.maxBatchBytes),
  zValidator('json', EventsEnvelopeSchema, (result) => {
    if (!result.success)
      throw new ApiError(
        400,
        'invalid_request',
        'Send {"batch": [event, ...]}',
        describeIssues(result.error),
      );
  }),
  async (c) => {
    const { batch } = c.req.valid('json');
    const shopperId = shopperIdOf(c.req.raw);
    const events = shopperId === undefined ? batch : batch.map((raw) => withShopperId(raw, shopperId));
    try {
      const result = await acceptEvents(c.env, events);
      return c.json(result, 202);
    } catch (error) {
      if (error instanceof QueueSendError) return queueUnavailable(c, error);
      throw error;
    }
  },
);

function shopperIdOf(request: Request): string | undefined {
  const header = request.headers.get(ANONYMOUS_ID_HEADER)?.toLowerCase();
  return (
    anonymousIdFromCookieHeader(request.headers.get('cookie')) ?? (isAnonymousId(header) ? header : undefined)
  );
}

function withShopperId(raw: unknown, anonymousId: string): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const event = raw as Record<string, unknown>;
  // `null` and `""` are absent too (contracts/events.ts), as Segment and RudderStack libraries send them.
  return isMissingId(event.anonymousId) && isMissingId(event.userId) ? { ...event, anonymousId } : raw;
}
