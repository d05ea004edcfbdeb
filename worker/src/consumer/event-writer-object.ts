import { DurableObject } from 'cloudflare:workers';
import type { MongoClient } from 'mongodb';
import type { Env } from '../env';
import { log } from '../log';
import { withDeadline } from '../with-deadline';
import { databaseName, ensureIndexes } from './collections';
import { type WriteRequest, type WriteResult, writeBatch } from './event-writer';
import { failureDetail, retryDetail, withoutValues } from './failure-detail';
import { createMongoClient, writeDeadlineMs } from './mongo-client';
import {
  DEAD_LETTER_WINDOW_MS,
  type DeadLetteredMessage,
  REFUSED_WINDOW_MS,
  type RedisComponent,
  type RedisFailures,
  type WriterDeadLetters,
  type WriterFailure,
  type WriterRefusals,
  type WriterStatus,
} from './writer-status';

/**
 * A Durable Object that holds the MongoDB client. A Durable Object keeps its sockets across
 * the calls it serves, unlike a plain isolate where each queue invocation would need its own
 * connection; so the TLS + authentication handshake (hundreds of ms on Atlas) happens once per
 * object lifetime instead of once per batch, and the number of connections Atlas sees stays at
 * the pool size whatever the consumer concurrency. Measured in docs/analytics.md.
 */
export class EventWriter extends DurableObject<Env> {
  /**
   * The client, as a promise: the object serves calls concurrently, and two first calls must share
   * one client instead of each making a pool (the loser's would never be closed).
   */
  private client: Promise<MongoClient> | undefined;
  private clientUri: string | undefined;
  private indexes: Promise<void> | undefined;

  /**
   * Writes one consumer batch. Failures come back as `retry` outcomes; throws only when MongoDB is
   * not configured or the write passed its deadline (the client is dropped then: a hung socket
   * must not hold the next batches too). The deadline is the caller's (store.ts), which bounds
   * this call by it too; else the object's own `MONGODB_WRITE_DEADLINE_MS`.
   */
  async write(request: WriteRequest, deadlineMs = writeDeadlineMs(this.env)): Promise<WriteResult> {
    const client = this.currentClient();
    let result: WriteResult;
    try {
      result = await withDeadline(this.writeWithClient(client, request), deadlineMs, 'MongoDB batch write');
    } catch (error) {
      this.dropClient(client);
      await this.noteOutcome(failureDetail(error));
      throw error;
    }
    await this.noteOutcome(failureOf(result));
    await this.noteRefusals(result);
    this.forgetWritten(request, result);
    this.settleCopies(request, result);
    return result;
  }

  /**
   * The same enriched event in two queue messages (the outbox sent events a timed-out send had queued
   * after all; a dead-letter replay of a pack partly stored): the second message finds it stored, with
   * its own `receivedAt`, so `receivedAt` (copiesOfSameIntake) takes it for its own on a redelivery, and
   * the consumer counted it again (live counters, activity) whenever that message's first delivery
   * died or was retried. A first delivery's duplicates are never its own: noted here, per message,
   * before the consumer hears of the write (so also when it dies right after), and a redelivery's
   * duplicates so noted are another message's (`sameIntake: false`). Kept MESSAGE_COPY_DAYS, past any
   * redelivery. No query unless the batch has duplicates. Never throws: without the note, a copy counts
   * as its own (at least once, as before).
   */
  private settleCopies(request: WriteRequest, result: WriteResult): void {
    const messages = request.queueMessages;
    if (messages === undefined) return;
    try {
      let sql: SqlStorage | undefined;
      const table = () => {
        if (sql !== undefined) return sql;
        sql = this.ctx.storage.sql;
        sql.exec(
          `CREATE TABLE IF NOT EXISTS ${COPIES_TABLE} (message TEXT NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (message, id))`,
        );
        return sql;
      };
      const now = Date.now();
      result.events.forEach((outcome, index) => {
        const message = messages[index];
        const id = request.events[index]?.messageId;
        if (outcome.kind !== 'duplicate' || message === undefined || id === undefined) return;
        if (request.redelivered?.[index] !== true) {
          table().exec(
            `INSERT OR IGNORE INTO ${COPIES_TABLE} (message, id, at) VALUES (?, ?, ?)`,
            message,
            id,
            now,
          );
        } else if (outcome.sameIntake !== false) {
          const noted = table().exec(
            `SELECT 1 FROM ${COPIES_TABLE} WHERE message = ? AND id = ?`,
            message,
            id,
          );
          if (noted.toArray().length > 0) outcome.sameIntake = false;
        }
      });
      if (sql !== undefined && now - this.copiesPrunedAt > 3_600_000) {
        this.copiesPrunedAt = now;
        sql.exec(`DELETE FROM ${COPIES_TABLE} WHERE at < ?`, now - MESSAGE_COPY_DAYS * 86_400_000);
      }
    } catch (error) {
      log('warn', 'event_writer_copies_not_noted', { error });
    }
  }

  private copiesPrunedAt = 0;

  /**
   * The last batch's failure, or null when the last batch was written (or none has failed). `/healthz`
   * asks here: queue invocations run in isolates of their own, so the isolate that answers `/healthz`
   * has usually seen no batch, while every batch comes through this object. Kept until a batch is
   * written, not for a time: between a failed batch and its retry (back-off, minutes) MongoDB has not
   * been seen to work, and messages that ran out of retries wait in the dead-letter queue.
   */
  async status(): Promise<WriterStatus> {
    const [failure, refused, deadLettered, redis] = await Promise.all([
      this.lastFailure(),
      this.ctx.storage.get<WriterRefusals>(REFUSED_KEY),
      this.ctx.storage.get<WriterDeadLetters>(DEAD_LETTERS_KEY),
      this.ctx.storage.get<RedisFailures>(REDIS_FAILURES_KEY),
    ]);
    // As kept: `/healthz` (health-probe.ts) decides which are recent enough to show, for each alike.
    return {
      failure,
      refused: refused ?? null,
      deadLettered: this.stillWaiting(deadLettered),
      redis: redis ?? {},
    };
  }

  /**
   * A consumer retried `messages` messages (`events` events) on their last delivery: Queues sends them to
   * the dead-letter queue. Counted, durably, so `/healthz` says so for DEAD_LETTER_WINDOW_MS after the
   * last one, whatever MongoDB does meanwhile (the next written batch clears the failure, not this).
   * Never throws.
   */
  async noteDeadLetters(
    messages: number,
    events: number,
    waiting: DeadLetteredMessage[] = [],
  ): Promise<void> {
    if (messages <= 0) return;
    try {
      await this.ctx.storage.transaction(async (txn) => {
        const now = new Date();
        const earlier = await txn.get<DeadLetterRecord>(DEAD_LETTERS_KEY);
        const recent = earlier !== undefined && isRecent(earlier.lastAt, DEAD_LETTER_WINDOW_MS);
        // Messages with ids to wait for are counted from the table; the others, here.
        const tracked = waiting.filter((message) => message.events.length > 0);
        const trackedEvents = tracked.reduce((sum, message) => sum + message.events.length, 0);
        const sql = this.deadLetterTable();
        if (!recent) sql.exec(`DELETE FROM ${DEAD_LETTER_TABLE}`);
        for (const message of tracked)
          for (const id of message.events)
            sql.exec(
              `INSERT OR IGNORE INTO ${DEAD_LETTER_TABLE} (id, message) VALUES (?, ?)`,
              id,
              message.message,
            );
        this.waitingEvents = undefined;
        const base = recent ? earlier : undefined;
        await txn.put(DEAD_LETTERS_KEY, {
          messages: (base?.messages ?? 0) + messages,
          events: (base?.events ?? 0) + events,
          since: base?.since ?? now.toISOString(),
          lastAt: now.toISOString(),
          // A record an older version kept tracks nothing: it stays untracked (shown for the window).
          untracked: {
            messages:
              (base === undefined ? 0 : (base.untracked?.messages ?? base.messages)) +
              messages -
              tracked.length,
            events:
              (base === undefined ? 0 : (base.untracked?.events ?? base.events)) + events - trackedEvents,
          },
        } satisfies DeadLetterRecord);
      });
    } catch (error) {
      log('warn', 'event_writer_status_not_saved', { error });
    }
  }

  /** Dead-lettered events not yet written, in memory once counted (undefined: count again). */
  private waitingEvents: number | undefined;

  private deadLetterTable(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec(
      `CREATE TABLE IF NOT EXISTS ${DEAD_LETTER_TABLE} (id TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY (id, message))`,
    );
    return sql;
  }

  /**
   * Forgets the dead-lettered events this batch wrote (stored, or found stored: either way in MongoDB),
   * a replay's or the same event sent again. Nothing to do, and no query, while none waits. Never throws.
   */
  private forgetWritten(request: WriteRequest, result: WriteResult): void {
    try {
      if (this.waitingEvents === 0) return;
      const sql = this.deadLetterTable();
      this.waitingEvents ??= countOf(sql.exec(`SELECT COUNT(*) AS n FROM ${DEAD_LETTER_TABLE}`));
      if (this.waitingEvents === 0) return;
      const written = request.events.flatMap((event, index) =>
        result.events[index]?.kind === 'retry' ? [] : [event.messageId],
      );
      // Durable Object SQL takes at most 100 bound parameters a statement.
      for (let start = 0; start < written.length; start += 100) {
        const ids = written.slice(start, start + 100);
        sql.exec(`DELETE FROM ${DEAD_LETTER_TABLE} WHERE id IN (${ids.map(() => '?').join(',')})`, ...ids);
      }
      this.waitingEvents = countOf(sql.exec(`SELECT COUNT(*) AS n FROM ${DEAD_LETTER_TABLE}`));
    } catch (error) {
      this.waitingEvents = undefined;
      log('warn', 'event_writer_status_not_saved', { error });
    }
  }

  /**
   * The dead letters `/healthz` shows: those still waiting to be written, or null once every one that
   * could be told apart was written and none could not. A record an older version kept, as kept.
   */
  private stillWaiting(record: DeadLetterRecord | undefined): WriterDeadLetters | null {
    if (record === undefined) return null;
    const { untracked, ...counts } = record;
    if (untracked === undefined) return counts;
    const rows = this.deadLetterTable()
      .exec<{ events: number; messages: number }>(
        `SELECT COUNT(*) AS events, COUNT(DISTINCT message) AS messages FROM ${DEAD_LETTER_TABLE}`,
      )
      .one();
    const messages = untracked.messages + rows.messages;
    if (messages === 0) return null;
    return { ...counts, messages, events: untracked.events + rows.events };
  }

  /**
   * A consumer's call to `write` failed before the object could say how the batch went (the object was
   * overloaded or reset, or did not answer in time): `write` never ran, or its outcome never reached the
   * consumer, and the batch is retried. Recorded as the last batch's failure, so `/healthz` (which asks
   * here, not the queue isolate that saw it) does not say `ok` while every batch is retried; the next
   * batch written clears it. `detail` is already fit for `/healthz` (failureDetail). Never throws.
   */
  async noteCallFailure(detail: string): Promise<void> {
    await this.noteOutcome(detail.slice(0, 500));
  }

  /**
   * The consumer's Redis writes (recent activity, live counters) as its invocations saw them: `detail`
   * after a batch's write failed, undefined after one succeeded. Kept here for the same reason as the
   * batch failures: the isolate answering `/healthz` has usually run no batch. Never throws.
   */
  async noteRedisWrite(component: RedisComponent, detail: string | undefined): Promise<void> {
    try {
      await this.ctx.storage.transaction(async (txn) => {
        const failures = (await txn.get<RedisFailures>(REDIS_FAILURES_KEY)) ?? {};
        if (detail === undefined) delete failures[component];
        else failures[component] = { at: new Date().toISOString(), detail };
        await txn.put(REDIS_FAILURES_KEY, failures);
      });
    } catch (error) {
      log('warn', 'event_writer_status_not_saved', { error });
    }
  }

  /**
   * Counts the events MongoDB refused for good in this batch (a validator, another unique index: kept
   * in `rejected_events`, acked) and those the consumer found malformed, so `/healthz` shows them for
   * REFUSED_WINDOW_MS after the last one instead of `ok`; the count restarts after that. The reason is
   * kept without the values the server quotes (a unique index's "dup key: { traits.email: … }"):
   * `/healthz` is public; `rejected_events` has the whole reason. Never throws.
   */
  private async noteRefusals(result: WriteResult): Promise<void> {
    const refusals = [
      ...result.events.flatMap((outcome) => (outcome.kind === 'invalid' ? [outcome.reason] : [])),
      // A malformed event's record stored now (a redelivery's `duplicate` was counted the first time).
      ...result.rejected.flatMap((outcome) => (outcome.kind === 'stored' ? ['not a valid event'] : [])),
    ];
    const [reason] = refusals;
    if (reason === undefined) return;
    try {
      const now = new Date();
      const earlier = await this.ctx.storage.get<WriterRefusals>(REFUSED_KEY);
      const recent = earlier !== undefined && isRecent(earlier.lastAt, REFUSED_WINDOW_MS);
      await this.ctx.storage.put(REFUSED_KEY, {
        count: (recent ? earlier.count : 0) + refusals.length,
        since: recent ? earlier.since : now.toISOString(),
        lastAt: now.toISOString(),
        detail: withoutValues(reason),
      } satisfies WriterRefusals);
    } catch (error) {
      log('warn', 'event_writer_status_not_saved', { error });
    }
  }

  /** In memory once read; in the object's storage too, so an evicted object still knows. */
  private failure: WriterFailure | null | undefined;

  private async lastFailure(): Promise<WriterFailure | null> {
    this.failure ??= (await this.ctx.storage.get<WriterFailure>(LAST_FAILURE_KEY)) ?? null;
    return this.failure;
  }

  /** Records a batch's outcome: `detail` when it failed, undefined when it was written. Never throws. */
  private async noteOutcome(detail: string | undefined): Promise<void> {
    try {
      if (detail === undefined) {
        if ((await this.lastFailure()) === null) return;
        this.failure = null;
        await this.ctx.storage.delete(LAST_FAILURE_KEY);
        return;
      }
      this.failure = { at: new Date().toISOString(), detail };
      await this.ctx.storage.put(LAST_FAILURE_KEY, this.failure);
    } catch (error) {
      log('warn', 'event_writer_status_not_saved', { error });
    }
  }

  private currentClient(): Promise<MongoClient> {
    const uri = this.env.MONGODB_URI;
    if (!uri) throw new Error('MONGODB_URI is not set (wrangler secret put MONGODB_URI)');
    if (this.client === undefined || this.clientUri !== uri) {
      if (this.client !== undefined) this.dropClient(this.client);
      this.client = createMongoClient(uri);
      this.clientUri = uri;
      this.indexes = undefined;
    }
    return this.client;
  }

  private async writeWithClient(client: Promise<MongoClient>, request: WriteRequest): Promise<WriteResult> {
    const db = (await client).db(databaseName(this.env));
    // Started, not waited for: inserts do not need the indexes, and MongoDB answers createIndexes only
    // once the build is done, which on a large collection takes longer than the write deadline; every
    // batch would fail until then. A failure is tried again with the next batch.
    this.indexes ??= ensureIndexes(db).catch((error: unknown) => {
      this.indexes = undefined;
      log('warn', 'mongodb_indexes_failed', { error });
    });
    const result = await writeBatch(db, request);
    // A connection-level failure can leave the driver's topology closed for good (a failed first
    // connect does): start from a fresh client next time rather than failing every batch after.
    if (everyOutcomeIsRetry(result)) this.dropClient(client);
    return result;
  }

  /**
   * Stops using `client` if it is still the current one. A batch that failed on a client another
   * batch already replaced must not close the new one (each close fails every batch in flight on
   * it, and each of those would close the next). Closed in the background, so no caller waits on
   * a close that may itself hang on a dead connection.
   */
  private dropClient(client: Promise<MongoClient>): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.indexes = undefined;
    client.then((open) => open.close()).catch(() => undefined);
  }
}

const LAST_FAILURE_KEY = 'last_failure';
const REFUSED_KEY = 'refused';
const REDIS_FAILURES_KEY = 'redis_failures';
const DEAD_LETTERS_KEY = 'dead_letters';
/** Events a message's first delivery found stored by another message (settleCopies). */
const COPIES_TABLE = 'copies_of_other_messages';
/** Longer than any redelivery (20 retries are within two hours) and the live counters' marker (3 days). */
const MESSAGE_COPY_DAYS = 3;
/** The dead-lettered events not yet written (noteDeadLetters, forgetWritten). */
const DEAD_LETTER_TABLE = 'dead_lettered_events';

/**
 * What the object keeps of the dead letters: the counts since the run began and, of them, the messages
 * whose events cannot be told apart when written (DeadLetteredMessage); the others wait in the table.
 * Absent in a record an older version kept.
 */
interface DeadLetterRecord extends WriterDeadLetters {
  untracked?: { messages: number; events: number };
}

function countOf(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): number {
  return Number(cursor.one().n ?? 0);
}

function isRecent(at: string, windowMs: number): boolean {
  return Date.now() - Date.parse(at) < windowMs;
}

/** The consumer's words for a batch with events to retry (handler.ts); undefined when all were written. */
function failureOf(result: WriteResult): string | undefined {
  const retries = [...result.events, ...result.rejected].flatMap((outcome) =>
    outcome.kind === 'retry' ? [outcome.reason] : [],
  );
  const [first] = retries;
  return first === undefined ? undefined : `Error: ${retryDetail(retries.length, first)}`;
}

function everyOutcomeIsRetry(result: WriteResult): boolean {
  const outcomes = [...result.events, ...result.rejected];
  return outcomes.length > 0 && outcomes.every((outcome) => outcome.kind === 'retry');
}
