import { DurableObject } from 'cloudflare:workers';
import type { MongoClient } from 'mongodb';
import { describeError } from '../describe-error';
import type { Env } from '../env';
import { log } from '../log';
import { withDeadline } from '../with-deadline';
import { databaseName, ensureIndexes } from './collections';
import { type WriteRequest, type WriteResult, writeBatch } from './event-writer';
import { explainConnectFailure, retryDetail } from './failure-detail';
import { createMongoClient, writeDeadlineMs } from './mongo-client';

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
      await this.noteOutcome(describeError(explainConnectFailure(error)));
      throw error;
    }
    await this.noteOutcome(failureOf(result));
    return result;
  }

  /**
   * The last batch's failure, or null when the last batch was written (or none has failed). `/healthz`
   * asks here: queue invocations run in isolates of their own, so the isolate that answers `/healthz`
   * has usually seen no batch, while every batch comes through this object. Kept until a batch is
   * written, not for a time: between a failed batch and its retry (back-off, minutes) MongoDB has not
   * been seen to work, and messages that ran out of retries wait in the dead-letter queue.
   */
  async status(): Promise<WriterFailure | null> {
    return this.lastFailure();
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

/** A batch's failure as the writer's status tells it (what the consumer's own report says), if any. */
export interface WriterFailure {
  /** ISO time of the failed batch. */
  at: string;
  detail: string;
}

const LAST_FAILURE_KEY = 'last_failure';

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
