import { type StoredEvent, validateStoredEvent } from '../../../contracts/events';
import { recordActivity } from '../activity';
import type { Env } from '../env';
import { reportFailure, reportRecovery } from '../health';
import { log } from '../log';
import { retryDelaySeconds } from './backoff';
import { type RejectedEventDocument, rejectedEventDocument } from './rejected-event';
import { storeBatch } from './store';
import type { DocumentOutcome } from './write-errors';

/** Test seam for the crash test: runs after MongoDB answered and before any message is acked. */
export interface ConsumerHooks {
  afterWrite?: () => void | Promise<void>;
}

/**
 * The `EVENTS` queue consumer. Each message is one enriched event:
 * valid ones go to `events` (`_id` = `messageId`, duplicates = success), malformed ones to
 * `rejected_events` with the reason; each message is acked only once its document (or its
 * rejection record) is in MongoDB, and retried with back-off otherwise, so a message is never
 * lost: what exhausts its retries lands in the dead-letter queue (`npx tsx scripts/replay-dlq.ts`).
 * Afterwards the shopper's recent activity in Redis is updated; that never fails the batch.
 */
export async function handleEventBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  hooks: ConsumerHooks = {},
): Promise<void> {
  const valid: Array<{ message: Message<unknown>; event: StoredEvent }> = [];
  const malformed: Array<{ message: Message<unknown>; record: RejectedEventDocument }> = [];
  for (const message of batch.messages) {
    const check = validateStoredEvent(message.body);
    if (check.ok) valid.push({ message, event: check.event });
    else
      malformed.push({
        message,
        record: rejectedEventDocument(message, 'not a valid event', check.problems),
      });
  }

  let result: { events: DocumentOutcome[]; rejected: DocumentOutcome[] };
  try {
    result = await storeBatch(env, {
      events: valid.map((entry) => entry.event),
      rejected: malformed.map((entry) => entry.record),
    });
  } catch (error) {
    reportFailure('mongodb', error);
    log('error', 'events_batch_failed', { queue: batch.queue, messages: batch.messages.length, error });
    for (const message of batch.messages)
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return;
  }
  await hooks.afterWrite?.();

  const settled: StoredEvent[] = [];
  const counts = { stored: 0, duplicate: 0, invalid: 0, retry: 0, rejected: 0 };
  for (const [index, { message, event }] of valid.entries()) {
    const outcome = result.events[index] ?? { kind: 'retry', reason: 'no outcome' };
    counts[outcome.kind]++;
    if (outcome.kind === 'retry') {
      retryLater(message, outcome.reason);
      continue;
    }
    message.ack();
    if (outcome.kind !== 'invalid') settled.push(event);
  }
  for (const [index, { message }] of malformed.entries()) {
    const outcome = result.rejected[index] ?? { kind: 'retry', reason: 'no outcome' };
    if (outcome.kind === 'retry') {
      retryLater(message, outcome.reason);
      continue;
    }
    counts.rejected++;
    message.ack();
  }
  if (counts.retry === 0) reportRecovery('mongodb');
  else reportFailure('mongodb', new Error(`${counts.retry} event(s) will be retried`));
  log(counts.retry > 0 || counts.rejected > 0 ? 'warn' : 'debug', 'events_batch_stored', counts);

  // Duplicates count too: a redelivery after a crash must still reach Redis (at-least-once).
  await recordActivity(env, settled);
}

function retryLater(message: Message<unknown>, reason: string): void {
  const delaySeconds = retryDelaySeconds(message.attempts);
  log('warn', 'event_retry', {
    queueMessageId: message.id,
    attempts: message.attempts,
    delaySeconds,
    reason,
  });
  message.retry({ delaySeconds });
}
