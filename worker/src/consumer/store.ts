import type { Env } from '../env';
import { log } from '../log';
import { withDeadline } from '../with-deadline';
import { type WriteRequest, type WriteResult, writeBatch } from './event-writer';
import { INDEX_WAIT_MS, withBatchClient, writeDeadlineMs } from './mongo-client';
import { mongoUriProblem } from './mongo-uri';
import type { DeadLetteredMessage } from './writer-status';

/** Name of the one writer object; a single client pool serves every consumer invocation. */
const WRITER_NAME = 'events';
/** Beyond the object's own write deadline, for the call itself. */
const CALL_MARGIN_MS = 5_000;
/** Longest wait for the object to note a failed call (noteCallFailure): the batch's retry is decided. */
export const NOTE_BUDGET_MS = 2_000;

/** The one writer object, when the `EVENT_WRITER` binding is there. */
export function eventWriter(env: Pick<Env, 'EVENT_WRITER'>) {
  return env.EVENT_WRITER?.get(env.EVENT_WRITER.idFromName(WRITER_NAME));
}

/**
 * Stores a batch in MongoDB through the `EVENT_WRITER` Durable Object (which keeps its client),
 * or with a per-batch client when that binding is absent. Throws when MongoDB is not configured, is
 * configured in a way that cannot work from a Worker (mongo-uri.ts), or is unreachable before any per-document verdict, or past the write deadline (the caller retries
 * the whole batch).
 */
export async function storeBatch(env: Env, request: WriteRequest): Promise<WriteResult> {
  const uri = env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set (wrangler secret put MONGODB_URI)');
  const problem = mongoUriProblem(uri);
  if (problem !== undefined) throw new Error(problem);
  const deadlineMs = writeDeadlineMs(env);
  const writer = eventWriter(env);
  if (writer) {
    // The object bounds its own write (with this deadline); this bounds the call to it (an object
    // that never answers).
    return withDeadline(writer.write(request, deadlineMs), deadlineMs + CALL_MARGIN_MS, 'EventWriter call');
  }
  // Connecting and the write have the deadline (withBatchClient); the client's whole life, the indexes'
  // wait after the write and closing included, that and more, so a batch written in time is never
  // retried for the indexes.
  return withDeadline(
    withBatchClient(
      { MONGODB_URI: uri, MONGODB_DB: env.MONGODB_DB },
      (db) => writeBatch(db, request),
      deadlineMs,
    ),
    deadlineMs + INDEX_WAIT_MS + CALL_MARGIN_MS,
    'MongoDB batch client',
  );
}

/**
 * After a batch's call to the writer object failed as a whole (storeBatch threw): tells the object, in
 * a short second call, so that `/healthz`, which asks the object, shows it. A call that failed before
 * `write` ran (the object overloaded, reset, or not answering) leaves nothing there otherwise, and the
 * consumer's own report lives in the queue isolate only. Best effort: waits at most NOTE_BUDGET_MS and
 * never throws (an object that cannot take this call cannot take the batch either; the log says so).
 */
export async function noteCallFailure(
  env: Pick<Env, 'EVENT_WRITER' | 'MONGODB_URI'>,
  detail: string,
): Promise<void> {
  const writer = eventWriter(env);
  // Not called for a batch storeBatch refused before the call (no or an unusable MONGODB_URI):
  // `/healthz` says `down` for those without asking the object.
  if (!writer || !env.MONGODB_URI || mongoUriProblem(env.MONGODB_URI) !== undefined) return;
  try {
    await withDeadline(writer.noteCallFailure(detail), NOTE_BUDGET_MS, 'The event writer failure note');
  } catch (error) {
    log('warn', 'event_writer_failure_not_noted', { error });
  }
}

/**
 * Tells the writer object that `messages` messages (`events` events) were retried on their last
 * delivery, so they go to the dead-letter queue (EventWriter.noteDeadLetters; `/healthz` shows it for
 * days, or until `waiting`, their events' ids, are all written). Best effort like noteCallFailure: at most NOTE_BUDGET_MS, never throws; the consumer's
 * `events_dead_lettered` log line says it too. Without the writer binding only the log does.
 */
export async function noteDeadLetters(
  env: Pick<Env, 'EVENT_WRITER'>,
  messages: number,
  events: number,
  waiting: DeadLetteredMessage[] = [],
): Promise<void> {
  const writer = eventWriter(env);
  if (!writer || messages <= 0) return;
  try {
    await withDeadline(
      writer.noteDeadLetters(messages, events, waiting),
      NOTE_BUDGET_MS,
      'The event writer dead-letter note',
    );
  } catch (error) {
    log('warn', 'event_writer_dead_letters_not_noted', { messages, events, error });
  }
}
