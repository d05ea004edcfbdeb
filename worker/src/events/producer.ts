import type { RxEvent, StoredEvent } from '../../../contracts/events';
import type { Env } from '../env';
import { reportFailure, reportRecovery } from '../health';
import { logRepeating } from '../log-repeating';
import { withDeadline } from '../with-deadline';
import { type EnrichOptions, enrichEvents } from './enrich';
import { packEvents } from './event-pack';
import { chunkForQueue } from './queue-chunks';

/**
 * The queue refused (some of) the events. `held`: the intake then handed them all to the durable
 * outbox, which queues them once the queue takes events again (intake.ts); otherwise nothing says
 * they will be stored.
 */
export class QueueSendError extends Error {
  override readonly name = 'QueueSendError';
  constructor(
    readonly failedEvents: number,
    options: { cause: unknown },
    readonly held = false,
    /** Of the held events, those the sender gave no `messageId` (the worker made theirs). */
    readonly heldWithoutOwnIds = 0,
  ) {
    super(`The EVENTS queue refused ${failedEvents} event(s)`, options);
  }
}

/**
 * How long one `sendBatch` may take before its events count as refused. Queues answers in tens of
 * milliseconds; one that hangs instead of refusing would otherwise hold the sender's request open (and
 * a proxied page's page view past its `waitUntil`) without ever reaching the outbox or `/healthz`.
 * The send itself cannot be cancelled: should it land after all, its events are also held, and each
 * `messageId` is stored once.
 */
export const QUEUE_SEND_BUDGET_MS = 3_000;

/**
 * Sends enriched events to the `EVENTS` queue, packed into as few messages as Queues' limits allow
 * (event-pack.ts), in `sendBatch` calls within those limits. Resolves once the queue holds every
 * event; throws `QueueSendError` when any call failed or took over `budgetMs`. Chunks are sent concurrently; a caller that
 * retries after a failure resends events that may already be queued, which is harmless because
 * `messageId` makes storing idempotent.
 */
export async function sendStoredEvents(
  queue: Queue<unknown>,
  events: readonly StoredEvent[],
  budgetMs = QUEUE_SEND_BUDGET_MS,
): Promise<void> {
  if (events.length === 0) return;
  const chunks = chunkForQueue(packEvents(events));
  const results = await Promise.allSettled(
    chunks.map((chunk) =>
      withDeadline(
        queue.sendBatch(chunk.map((body) => ({ body, contentType: 'json' as const }))),
        budgetMs,
        'The EVENTS queue send',
      ),
    ),
  );
  let failedEvents = 0;
  let firstError: unknown;
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      for (const pack of chunks[index] ?? []) failedEvents += pack.events.length;
      firstError ??= result.reason;
    }
  });
  if (failedEvents > 0) {
    reportFailure('queue', firstError);
    logRepeating('error', 'queue_send_failed', {
      failedEvents,
      totalEvents: events.length,
      error: firstError,
    });
    throw new QueueSendError(failedEvents, { cause: firstError });
  }
  reportRecovery('queue');
}

/**
 * Enriches validated events (`receivedAt`, `site`, bucket, model version, `messageId`) and
 * queues them for MongoDB. For other parts of the worker (the proxy's server-side events).
 * Throws `QueueSendError` when the queue refused them.
 */
export async function enqueueEvents(
  env: Pick<Env, 'EVENTS' | 'SITE_ID' | 'HOLDOUT_PERCENT'>,
  events: RxEvent[],
  options: EnrichOptions = {},
): Promise<void> {
  await sendStoredEvents(env.EVENTS, await enrichEvents(env, events, options));
}
