/**
 * What the event writer object (event-writer-object.ts) tells `/healthz` (health-probe.ts), apart from
 * the object itself so that readers need no Durable Object import.
 */

/** A batch's failure as the writer's status tells it (what the consumer's own report says), if any. */
export interface WriterFailure {
  /** ISO time of the failed batch. */
  at: string;
  detail: string;
}

/** Events kept out of `events` lately (refused by MongoDB, or malformed), as `/healthz` tells them. */
export interface WriterRefusals {
  count: number;
  /** ISO times of the first and the last refusal of the run. */
  since: string;
  lastAt: string;
  /** The last batch's first reason. */
  detail: string;
}

/**
 * Messages the consumer retried on their last delivery lately, which Queues sent to the dead-letter
 * queue (rx-events-dlq): their events are in no collection until someone replays them.
 */
export interface WriterDeadLetters {
  messages: number;
  events: number;
  /** ISO times of the first and the last of the run. */
  since: string;
  lastAt: string;
}

/**
 * One dead-lettered message as the consumer tells it: its queue id and the `messageId`s of its valid
 * events, which the writer keeps until each is written (a replay, or the same event sent again), so
 * the warning ends once they are all in MongoDB (EventWriter.noteDeadLetters). A message with no valid
 * event (malformed entries whose rejection records failed) cannot be told apart when it comes back:
 * it shows until DEAD_LETTER_WINDOW_MS has passed.
 */
export interface DeadLetteredMessage {
  message: string;
  events: string[];
}

export type RedisComponent = 'activity' | 'live_counters';
/** The last failed Redis write of each component, until one succeeds. */
export type RedisFailures = Partial<Record<RedisComponent, WriterFailure>>;

/** What `/healthz` asks the writer (health-probe.ts). */
export interface WriterStatus {
  /** The last batch's failure; null when it was written. */
  failure: WriterFailure | null;
  refused: WriterRefusals | null;
  /** Null when none went to the dead-letter queue within DEAD_LETTER_WINDOW_MS. */
  deadLettered: WriterDeadLetters | null;
  redis: RedisFailures;
}

/** A run of refusals ends after this long without one (and `/healthz` is ok again). */
export const REFUSED_WINDOW_MS = 60 * 60_000;

/**
 * Dead-lettered events show on `/healthz` until this long after the last one, and the count restarts
 * after it: 4 days, Cloudflare Queues' default message retention. A message older than that has left
 * rx-events-dlq (unless its retention was raised), so a replay can no longer bring it back and the
 * warning would only cry wolf; within it, `scripts/replay-dlq.ts` still can. A replay ends it sooner:
 * the writer keeps the dead-lettered events' ids and forgets each once it is written (DeadLetteredMessage).
 */
export const DEAD_LETTER_WINDOW_MS = 4 * 24 * 60 * 60_000;
