import type { Db, MongoClient, MongoClientOptions } from 'mongodb';
import { setting } from '../config';
import type { Env } from '../env';
import { log } from '../log';
import { SETTINGS } from '../settings';
import { withDeadline } from '../with-deadline';
import { databaseName, ensureIndexes } from './collections';

/**
 * How long a per-batch client waits for the indexes after its batch is written (see withBatchClient);
 * beyond the write's deadline (store.ts).
 */
export const INDEX_WAIT_MS = 2_000;

/**
 * Longest a batch write may take before the consumer gives up on it and retries the batch later
 * (`MONGODB_WRITE_DEADLINE_MS`): a server that accepts connections but never answers.
 */
export const DEFAULT_WRITE_DEADLINE_MS = SETTINGS.MONGODB_WRITE_DEADLINE_MS.fallback;

/** The write deadline in ms: `MONGODB_WRITE_DEADLINE_MS` when a positive number, else 30 s (settings.ts). */
export function writeDeadlineMs(env: Pick<Env, 'MONGODB_WRITE_DEADLINE_MS'>): number {
  return setting(env, 'MONGODB_WRITE_DEADLINE_MS');
}

/**
 * A new client (not yet connected). The driver is imported on first use, so the worker's HTTP
 * paths (and every test that loads the worker) never pay for loading it.
 *
 * Client settings for the Workers runtime: fail a server selection within 5 s (so an outage
 * turns into a queue retry with back-off instead of a consumer stuck until its wall-clock limit),
 * and a small pool (one consumer invocation never needs more).
 *
 * No socket timeouts (`connectTimeoutMS` and `socketTimeoutMS` 0): workerd's `node:net` Socket
 * does not clear a `setTimeout` armed before the connection opened, and arms a new timer on each
 * write while one is set, so the `timeout` events the driver relies on fire later on healthy,
 * busy connections ("connection 2 to … timed out": whole batches retried, seen in the ingest
 * benchmark; reproduced in workerd: setTimeout(300) before connect, setTimeout(0) after, a timeout
 * still fires). With 0 the driver only ever calls setTimeout(0), which is harmless. Hung writes are
 * bounded by the write deadline instead (`writeDeadlineMs`, see `withDeadline`).
 */
export async function createMongoClient(uri: string): Promise<MongoClient> {
  const { MongoClient } = await import('mongodb');
  const options: Partial<MongoClientOptions> = {
    appName: 'rx-events-consumer',
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 0,
    socketTimeoutMS: 0,
    maxPoolSize: 10,
    // Polling, not the streaming protocol: against Atlas (any server that sends a topologyVersion) the
    // driver would otherwise hold two extra long-lived sockets per client, an awaitable `hello` and a
    // round-trip pinger, because its serverless detection does not know workerd. Sockets are scarce in
    // a Worker (six open at once per invocation); a hello every heartbeat (10 s) is all a writer needs.
    serverMonitoringMode: 'poll',
    // A message is acked once its events are written: written to a majority and journaled, so a
    // failover cannot roll back what the queue has already forgotten (whatever the URI says).
    writeConcern: { w: 'majority', journal: true },
  };
  // MongoClientOptions extends Node's TLS option types, which the worker's type set (Workers
  // runtime, no @types/node) cannot satisfy; every option here is a plain driver setting.
  return new MongoClient(uri, options as MongoClientOptions);
}

/** Which databases this isolate has created indexes in: a flag, not a connection. */
const indexedDatabases = new Set<string>();

/**
 * Runs `work` with a client opened for this batch and closed after it: the fallback when no
 * `EVENT_WRITER` Durable Object is bound. One connection per batch (never per message); an
 * isolate cannot keep it for the next batch, because workerd binds a socket to the invocation
 * that opened it (docs/analytics.md, "Where the MongoDB connection lives").
 */
export async function withBatchClient<T>(
  env: { MONGODB_URI: string; MONGODB_DB?: string },
  work: (db: Db) => Promise<T>,
  deadlineMs: number,
): Promise<T> {
  const client = await createMongoClient(env.MONGODB_URI);
  const name = databaseName(env);
  const indexKey = `${env.MONGODB_URI}\n${name}`;
  let indexing: Promise<boolean> | undefined;
  let wrote = false;
  try {
    // The connection and the write have the deadline (a server that accepts connections and never
    // answers meets it at the handshake); the indexes' wait comes after it.
    const result = await withDeadline(
      (async () => {
        // Connected (and logged in) first: a server that cannot be reached or refuses the credentials
        // fails the batch as a whole here, before any per-document verdict (store.ts).
        await client.connect();
        const db = client.db(name);
        // Alongside the batch, not before it: inserts do not need the indexes, and MongoDB answers
        // createIndexes only once the build is done. After the batch it gets INDEX_WAIT_MS more (the
        // socket dies with this invocation; the server finishes a build it started anyway), and a
        // failure or an unfinished build is logged and tried again with the next batch.
        if (!indexedDatabases.has(indexKey)) {
          indexing = ensureIndexes(db).then(
            () => true,
            (error: unknown) => {
              log('warn', 'mongodb_indexes_failed', { error });
              return false;
            },
          );
        }
        return work(db);
      })(),
      deadlineMs,
      'MongoDB batch write',
    );
    if (indexing) {
      const done = await withDeadline(indexing, INDEX_WAIT_MS, 'MongoDB index creation').catch(
        (error: unknown) => {
          log('warn', 'mongodb_indexes_failed', { error });
          return false;
        },
      );
      if (done) indexedDatabases.add(indexKey);
    }
    wrote = true;
    return result;
  } finally {
    // After a failure the client is dropped, not waited for: closing a connection to a server that
    // stopped answering can hang as the write did, and the batch's retry must not wait for it.
    const closing = client.close().catch(() => undefined);
    if (wrote) await closing;
  }
}
