import { type StoredEvent, validateStoredEvent } from '../../../contracts/events';
import { recordActivity } from '../activity';
import type { Env } from '../env';
import { eventsOfMessageBody } from '../events/event-pack';
import { withRedactedUrls } from '../events/url-redaction';
import { reportFailure, reportRecovery } from '../health';
import { type LiveDelivery, recordLiveCounters } from '../live';
import { log } from '../log';
import { isLastAttempt, retryDelaySeconds } from './backoff';
import { failureDetail, loggedFailure, retryDetail, withoutValues } from './failure-detail';
import { relayRedisHealth } from './redis-health-relay';
import { type RejectedEventDocument, rejectedEventDocument } from './rejected-event';
import { noteCallFailure, noteDeadLetters, storeBatch } from './store';
import type { DocumentOutcome } from './write-errors';

/** Test seams for the crash tests. */
export interface ConsumerHooks {
  /** Runs after MongoDB answered, before the Redis writes and the acks. */
  afterWrite?: () => void | Promise<void>;
  /** Runs after the Redis writes, before any message is acked or retried. */
  beforeAcks?: () => void | Promise<void>;
}

/**
 * The `EVENTS` queue consumer. Each message is a pack of enriched events (or, queued before packs, a
 * single one; events/event-pack.ts): valid events go to `events` (`_id` = `messageId`, duplicates =
 * success), malformed ones to `rejected_events` with the reason. A message is acked only once every
 * event in it has its document (or its rejection record) in MongoDB, and retried whole with back-off
 * otherwise (its stored events then count as duplicates), so an event is never lost: what exhausts its
 * retries lands in the dead-letter queue (`npx tsx scripts/replay-dlq.ts`).
 * Before the acks the recent activity in Redis is updated for the events of the messages to be acked,
 * and the live experiment counters with each event once (liveDeliveries); neither ever fails the batch.
 */
export async function handleEventBatch(
  batch: MessageBatch<unknown>,
  env: Env,
  hooks: ConsumerHooks = {},
): Promise<void> {
  const valid: Array<{ message: Message<unknown>; event: StoredEvent }> = [];
  const malformed: Array<{ message: Message<unknown>; record: RejectedEventDocument }> = [];
  for (const message of batch.messages) {
    const { packed, entries } = eventsOfMessageBody(message.body);
    // One request can send an event twice (the intake does not dedupe): its pack then holds it twice.
    // Written once per message: the second copy, a duplicate of the first delivery, was noted as another
    // message's (EventWriter.settleCopies), so a redelivery took both for copies sent twice and never
    // recorded or counted the event when the first delivery died or was retried after the write.
    const ids = new Set<string>();
    entries.forEach((entry, index) => {
      const check = validateStoredEvent(entry);
      if (check.ok && ids.has(check.event.messageId)) return;
      // The intake redacts before queueing; this catches what an older worker version queued
      // (messages still in the queue or the dead-letter queue when redaction shipped, or sent during
      // a gradual deployment), so no credential in a URL reaches MongoDB whichever worker queued it.
      if (check.ok) {
        ids.add(check.event.messageId);
        valid.push({ message, event: withRedactedUrls(check.event) });
      } else
        malformed.push({
          message,
          record: rejectedEventDocument(message, 'not a valid event', check.problems, {
            entry: packed ? { index, body: entry } : undefined,
          }),
        });
    });
  }

  let result: { events: DocumentOutcome[]; rejected: DocumentOutcome[] };
  try {
    result = await storeBatch(env, {
      events: valid.map((entry) => entry.event),
      rejected: malformed.map((entry) => entry.record),
      redelivered: valid.map((entry) => entry.message.attempts > 1),
      queueMessages: valid.map((entry) => entry.message.id),
    });
  } catch (caught) {
    // Neither /healthz nor the log quotes the document values a server message may carry.
    const error = loggedFailure(caught);
    reportFailure('mongodb', failureDetail(caught));
    log('error', 'events_batch_failed', { queue: batch.queue, messages: batch.messages.length, error });
    for (const message of batch.messages)
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    // The retries are decided; the writer object, which /healthz asks, is told (bounded, best effort).
    await Promise.all([noteCallFailure(env, failureDetail(caught)), deadLetter(env, batch.messages, error)]);
    return;
  }
  await hooks.afterWrite?.();

  // A message is retried when any of its events is; the first such event's reason is logged.
  const retryReason = new Map<Message<unknown>, string>();
  const counts = { stored: 0, duplicate: 0, invalid: 0, retry: 0, rejected: 0 };
  const outcomes = valid.map(({ message }, index) => {
    const outcome = result.events[index] ?? { kind: 'retry', reason: 'no outcome' };
    counts[outcome.kind]++;
    if (outcome.kind === 'retry' && !retryReason.has(message)) retryReason.set(message, outcome.reason);
    return outcome;
  });
  // Malformed events whose rejection record could not be written yet: retried like stored ones.
  let recordsRetried = 0;
  malformed.forEach(({ message }, index) => {
    const outcome = result.rejected[index] ?? { kind: 'retry', reason: 'no outcome' };
    if (outcome.kind !== 'retry') counts.rejected++;
    else {
      recordsRetried++;
      if (!retryReason.has(message)) retryReason.set(message, outcome.reason);
    }
  });
  const retrying = counts.retry + recordsRetried;
  if (retrying === 0) reportRecovery('mongodb');
  else
    reportFailure(
      'mongodb',
      new Error(retryDetail(retrying, retryReason.values().next().value ?? 'no reason')),
    );
  log(counts.retry > 0 || counts.rejected > 0 ? 'warn' : 'debug', 'events_batch_stored', {
    messages: batch.messages.length,
    ...counts,
  });

  await Promise.all([
    recordActivity(env, ...activityToRecord(valid, outcomes, retryReason)),
    recordLiveCounters(env, liveDeliveries(valid, outcomes, retryReason)),
  ]);
  await relayRedisHealth(env);
  await hooks.beforeAcks?.();

  // Acked only now, after Redis: an explicitly acked message is never redelivered, even when the
  // invocation dies afterwards (CPU limit, eviction), so acking before the Redis writes would let such a
  // death lose the shoppers' activity for good; now the batch comes again, its events are duplicates in
  // MongoDB, and their activity is written on the redelivery. (The Redis writes never throw; a Redis that
  // does not answer delays the acks by its timeouts only.)
  for (const message of batch.messages) {
    const reason = retryReason.get(message);
    if (reason === undefined) message.ack();
    else retryLater(message, reason);
  }
  const retried = batch.messages.filter((message) => retryReason.has(message));
  await deadLetter(env, retried, withoutValues(retryReason.values().next().value ?? 'no reason'));
}

/**
 * Of `retried` (messages just retried), those on their last delivery go to the dead-letter queue
 * (wrangler.toml `max_retries`, backoff.ts isLastAttempt): logged as an error, and told to the writer
 * object so `/healthz` shows them until their events are written (a replay) or they can no longer be
 * replayed (writer-status.ts DEAD_LETTER_WINDOW_MS). Nothing else records that: once MongoDB is back, the next written batch
 * clears the failure, and the events would expire with the queue's retention unless someone replays them.
 */
async function deadLetter(env: Env, retried: readonly Message<unknown>[], reason: unknown): Promise<void> {
  const last = retried.filter((message) => isLastAttempt(message.attempts));
  if (last.length === 0) return;
  const events = last.reduce((sum, message) => sum + eventsOfMessageBody(message.body).entries.length, 0);
  log('error', 'events_dead_lettered', {
    messages: last.length,
    events,
    queueMessageIds: last.map((message) => message.id),
    reason,
  });
  // The ids of their valid events: the writer forgets each once written, so a replay ends the warning.
  const waiting = last.map((message) => ({
    message: message.id,
    events: eventsOfMessageBody(message.body).entries.flatMap((entry) => {
      const check = validateStoredEvent(entry);
      return check.ok ? [check.event.messageId] : [];
    }),
  }));
  await noteDeadLetters(env, last.length, events, waiting);
}

/**
 * A duplicate found in a redelivered message and stored by an earlier delivery of this message, which
 * may have died before its Redis writes. Any other duplicate is the event sent twice (the storefront
 * script sends a batch again when the page that sent it closed before the answer; Segment libraries
 * retry), whose first message did its own; so is every duplicate of a first delivery. A redelivery
 * alone does not tell: a resend whose own first delivery was retried is redelivered too. So the writer
 * compares the stored copy's `receivedAt` with this event's (event-writer.ts copiesOfSameIntake):
 * each intake request stamps its own; and the same body in two messages (an outbox resend, a replay)
 * by what this message's first delivery found (EventWriter.settleCopies). Unknown (that read failed):
 * taken as this message's, at least once. The one rule activityToRecord and liveDeliveries both go by.
 */
function storedByEarlierDelivery(outcome: DocumentOutcome | undefined, message: Message<unknown>): boolean {
  return outcome?.kind === 'duplicate' && message.attempts > 1 && outcome.sameIntake !== false;
}

/**
 * The events whose activity this delivery writes to Redis: those stored now and those an earlier
 * delivery of the message stored (storedByEarlierDelivery: at-least-once, the delivery that stored them
 * may have died before its Redis writes). Other duplicates are events sent twice: their first message
 * wrote their activity, and pushing it again would fill the shopper's list with copies. Events of a
 * message being retried wait for its redelivery, so they are recorded once; but on its last delivery,
 * a retried message goes to the dead-letter queue, no delivery of it follows, and a replay finds its
 * events stored (duplicates of a first delivery): so its stored events are recorded then, or never.
 * (An event MongoDB refuses with a code not known to be permanent, write-errors.ts, keeps its pack
 * retrying till then.) As liveDeliveries counts them. Returned as recordActivity takes them: those
 * stored now, then those stored earlier, whose entries it pushes only where the shopper's list does not
 * hold them yet (the earlier delivery may have died after pushing them, before its acks).
 */
function activityToRecord(
  valid: ReadonlyArray<{ message: Message<unknown>; event: StoredEvent }>,
  outcomes: readonly DocumentOutcome[],
  retried: ReadonlyMap<Message<unknown>, string>,
): [stored: StoredEvent[], storedEarlier: StoredEvent[]] {
  const stored: StoredEvent[] = [];
  const storedEarlier: StoredEvent[] = [];
  valid.forEach(({ message, event }, index) => {
    if (retried.has(message) && !isLastAttempt(message.attempts)) return;
    const outcome = outcomes[index];
    if (outcome?.kind === 'stored') stored.push(event);
    else if (storedByEarlierDelivery(outcome, message)) storedEarlier.push(event);
  });
  return [stored, storedEarlier];
}

/**
 * Each message's events for the live counters: those stored now (also in a message being retried), and
 * those an earlier delivery of the message stored (storedByEarlierDelivery; counted only if the
 * delivery that stored them died before counting, see recordLiveCounters). Other duplicates are events
 * sent twice and never count.
 */
function liveDeliveries(
  valid: ReadonlyArray<{ message: Message<unknown>; event: StoredEvent }>,
  outcomes: readonly DocumentOutcome[],
  retried: ReadonlyMap<Message<unknown>, string>,
): LiveDelivery[] {
  const byMessage = new Map<
    Message<unknown>,
    LiveDelivery & { stored: StoredEvent[]; storedEarlier: StoredEvent[] }
  >();
  valid.forEach(({ message, event }, index) => {
    let delivery = byMessage.get(message);
    if (delivery === undefined) {
      delivery = {
        messageId: message.id,
        site: event.site,
        acked: !retried.has(message),
        stored: [],
        storedEarlier: [],
      };
      byMessage.set(message, delivery);
    }
    const outcome = outcomes[index];
    if (outcome?.kind === 'stored') delivery.stored.push(event);
    else if (storedByEarlierDelivery(outcome, message)) delivery.storedEarlier.push(event);
  });
  return [...byMessage.values()];
}

function retryLater(message: Message<unknown>, reason: string): void {
  const delaySeconds = retryDelaySeconds(message.attempts);
  log('warn', 'event_retry', {
    queueMessageId: message.id,
    attempts: message.attempts,
    delaySeconds,
    reason: withoutValues(reason),
  });
  message.retry({ delaySeconds });
}
