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

export type RedisComponent = 'activity' | 'live_counters';
/** The last failed Redis write of each component, until one succeeds. */
export type RedisFailures = Partial<Record<RedisComponent, WriterFailure>>;

/** What `/healthz` asks the writer (health-probe.ts). */
export interface WriterStatus {
  /** The last batch's failure; null when it was written. */
  failure: WriterFailure | null;
  refused: WriterRefusals | null;
  redis: RedisFailures;
}

/** A run of refusals ends after this long without one (and `/healthz` is ok again). */
export const REFUSED_WINDOW_MS = 60 * 60_000;
