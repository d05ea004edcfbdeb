import { createExecutionContext, getQueueResult, runInDurableObject } from 'cloudflare:test';
import { describe, expect, inject, it, vi } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { handleEventBatch } from '../../worker/src/consumer';
import type { WriteRequest, WriteResult } from '../../worker/src/consumer/event-writer';
import type { EventWriter } from '../../worker/src/consumer/event-writer-object';
import type { Env } from '../../worker/src/env';
import { type EventPack, packEvents } from '../../worker/src/events/event-pack';
import { reportRecovery } from '../../worker/src/health';
import worker from '../../worker/src/index';
import {
  batchOf,
  countRun,
  hasMongoControl,
  mongodbHealth,
  mongoOutage,
  runId,
  storedEvents,
  waitFor,
  withDb,
  workerEnv,
} from './events-support';

interface EventRecord {
  _id: string;
  timestamp: Date;
  receivedAt: Date;
}
interface RejectedRecord {
  _id: string;
  messageId: string | null;
  reason: string;
  problems: Array<{ field?: string; reason: string }>;
  raw: string;
}

async function deliver(bodies: unknown[], prefix?: string) {
  const batch = batchOf(bodies, prefix);
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv());
  return getQueueResult(batch, ctx);
}

describe('events consumer (queue handler → MongoDB, real driver)', () => {
  it('stores each message as one document with _id = messageId and BSON dates', async () => {
    const run = runId();
    const result = await deliver(storedEvents(run, 20));
    expect(result.explicitAcks).toHaveLength(20);
    expect(result.retryMessages).toEqual([]);
    expect(await countRun(run)).toBe(20);
    const doc = await withDb((db) => db.collection<EventRecord>('events').findOne({ _id: `${run}-3` }));
    expect(doc?._id).toBe(`${run}-3`);
    expect(doc?.timestamp).toBeInstanceOf(Date);
    expect(doc?.receivedAt).toBeInstanceOf(Date);
    // The readers' indexes (docs/analytics.md): history, event type, the report's window, orders.
    const indexes = await withDb((db) => db.collection('events').listIndexes().toArray());
    expect(Object.fromEntries(indexes.map((index) => [index.name, index.key]))).toMatchObject({
      user_time: { userId: 1, timestamp: -1 },
      anonymous_time: { anonymousId: 1, timestamp: -1 },
      event_time: { event: 1, timestamp: -1 },
      site_time: { site: 1, timestamp: -1 },
      order_id: { 'properties.order_id': 1 },
    });
  });

  it('the same batch delivered twice (at-least-once) leaves no duplicates', async () => {
    const run = runId();
    const events = storedEvents(run, 100);
    const first = await deliver(events, `dup-${run}`);
    const second = await deliver(events, `dup-${run}`);
    expect(first.explicitAcks).toHaveLength(100);
    expect(second.explicitAcks).toHaveLength(100);
    expect(second.retryMessages).toEqual([]);
    expect(await countRun(run)).toBe(100);
  });

  it('writes to the database MONGODB_URI names in its path (where train and report read), not MONGODB_DB', async () => {
    const run = runId();
    const database = `rx_path_${run}`;
    // The test server's string with this database as its path: `scheme://hosts/` + database + `?options`.
    const [hosts = '', options] = inject('mongoUri').split('?');
    const scheme = hosts.indexOf('//') + 2;
    const slash = hosts.indexOf('/', scheme);
    const uri = `${slash < 0 ? hosts : hosts.slice(0, slash)}/${database}${options ? `?${options}` : ''}`;
    try {
      const batch = batchOf(storedEvents(run, 2), `path-${run}`);
      const ctx = createExecutionContext();
      await worker.queue(
        batch,
        workerEnv({ MONGODB_URI: uri, MONGODB_DB: 'rx_not_this_one', EVENT_WRITER: undefined }),
      );
      await getQueueResult(batch, ctx);
      expect(await countRun(run, database)).toBe(2);
      expect(await countRun(run, 'rx_not_this_one')).toBe(0);
    } finally {
      await withDb((db) => db.dropDatabase(), database);
    }
  });

  it('a poison message goes to rejected_events with its reason; the good ones are stored', async () => {
    const run = runId();
    const good = storedEvents(run, 9);
    const poison = { type: 'track', messageId: `${run}-poison`, properties: { run, price: 'free' } };
    const prefix = `poison-${run}`;
    const result = await deliver([...good.slice(0, 4), poison, ...good.slice(4)], prefix);
    expect(result.explicitAcks).toHaveLength(10);
    expect(result.retryMessages).toEqual([]);
    expect(await countRun(run)).toBe(9);
    const rejected = await withDb((db) =>
      db.collection<RejectedRecord>('rejected_events').findOne({ _id: `${prefix}-4` }),
    );
    expect(rejected?.messageId).toBe(`${run}-poison`);
    expect(rejected?.reason).toBe('not a valid event');
    const fields = (rejected?.problems ?? []).map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining(['event', 'properties.price', 'timestamp', 'site', 'bucket']),
    );
    expect(JSON.parse(String(rejected?.raw))).toEqual(poison);
  });

  it('a consumer crash after the write and before the acks loses nothing: the redelivery stores each event once', async () => {
    const run = runId();
    const events = storedEvents(run, 50);
    const batch = batchOf(events, `crash-${run}`);
    const crash = handleEventBatch(batch, workerEnv(), {
      afterWrite: () => {
        throw new Error('simulated crash');
      },
    });
    await expect(crash).rejects.toThrow('simulated crash');
    const ctx = createExecutionContext();
    const crashed = await getQueueResult(batch, ctx);
    // Nothing acked: the platform redelivers the whole batch.
    expect(crashed.explicitAcks).toEqual([]);
    const redelivered = await deliver(events, `crash-${run}`);
    expect(redelivered.explicitAcks).toHaveLength(50);
    expect(await countRun(run)).toBe(50);
  });

  it('a crash that left half a batch written: the redelivered batch completes it exactly', async () => {
    const run = runId();
    const events = storedEvents(run, 40);
    await deliver(events.slice(0, 20));
    const result = await deliver(events);
    expect(result.explicitAcks).toHaveLength(40);
    expect(await countRun(run)).toBe(40);
  });

  // Needs a server that checks credentials: the local one always does (local-mongo.global-setup.ts),
  // a real MongoDB only when its URI carries a user and password (as test/node/local-mongo.test.ts).
  it.skipIf(!/^mongodb(?:\+srv)?:\/\/[^/@]+@/.test(inject('mongoUri')))(
    'wrong MongoDB credentials (a rotated password): nothing acked or lost, /healthz names the cause without the secret; stored once they are right',
    async () => {
      // The local server requires authentication (test/support/local-mongo.global-setup.ts), so the
      // driver's SCRAM-SHA-256 runs here, in workerd. Without the writer object, the batch's own
      // client connects with the URI given.
      const run = runId();
      const events = storedEvents(run, 12);
      const secret = `rotated-${run}`;
      const wrong = new URL(inject('mongoUri'));
      wrong.password = secret;
      const env = workerEnv({ MONGODB_URI: wrong.toString(), EVENT_WRITER: undefined });
      const batch = batchOf(events, `auth-${run}`);
      const ctx = createExecutionContext();
      const logged = vi.spyOn(console, 'error');
      let lines: string[];
      try {
        await worker.queue(batch, env);
      } finally {
        lines = logged.mock.calls.map((call) => call.join(' '));
        logged.mockRestore();
      }
      expect(lines.some((line) => line.includes('events_batch_failed'))).toBe(true);
      expect(lines.join('\n')).not.toContain(secret);
      const refused = await getQueueResult(batch, ctx);
      expect(refused.explicitAcks).toEqual([]);
      expect(refused.retryMessages).toHaveLength(12);
      expect(await countRun(run)).toBe(0);

      const { text, mongodb } = await mongodbHealth({
        MONGODB_URI: wrong.toString(),
        EVENT_WRITER: undefined,
      });
      expect(mongodb?.status).toBe('degraded');
      expect(mongodb?.detail).toContain('Authentication failed.');
      expect(text).not.toContain(secret);

      const back = await deliver(events, `auth-${run}`);
      expect(back.explicitAcks).toHaveLength(12);
      expect(await countRun(run)).toBe(12);
    },
  );

  it.skipIf(!hasMongoControl())(
    'MongoDB down: every message is retried with back-off, none acked; stored once it is back',
    async () => {
      const run = runId();
      const events = storedEvents(run, 30);
      await mongoOutage('pause');
      let down: Awaited<ReturnType<typeof deliver>>;
      try {
        down = await deliver(events, `down-${run}`);
      } finally {
        await mongoOutage('resume');
      }
      expect(down.explicitAcks).toEqual([]);
      expect(down.retryMessages.map((retry: { msgId: string }) => retry.msgId).sort()).toEqual(
        events.map((_, i) => `down-${run}-${i}`).sort(),
      );
      // The writer object answers a failed connection with retries, not a throw: /healthz still says why.
      const { mongodb } = await mongodbHealth();
      expect(mongodb?.status).toBe('degraded');
      // The driver's words, led by what to check when they only say it could not connect (a fresh client:
      // server selection failed) rather than what happened (a pooled one: "Network connection lost.").
      expect(mongodb?.detail).toMatch(
        /^Error: 30 event\(s\) will be retried: (could not connect \(server down.*: )?Mongo\w*Error: \w/,
      );
      expect(await countRun(run)).toBe(0);
      const back = await deliver(events, `down-${run}`);
      expect(back.explicitAcks).toHaveLength(30);
      expect(await countRun(run)).toBe(30);
    },
  );
});

/** Messages as the producer packs them (events/event-pack.ts). */
function packsOf(events: StoredEvent[]): EventPack[] {
  return packEvents(events).map((pack) => pack.body);
}

describe('events consumer, packed messages (several events per queue message)', () => {
  it('stores every event of each pack and acks each message once; a redelivery doubles nothing', async () => {
    const run = runId();
    const packs = packsOf(storedEvents(run, 250));
    expect(packs.map((pack) => pack.events.length)).toEqual([100, 100, 50]);
    const first = await deliver(packs, `pack-${run}`);
    expect(first.explicitAcks.sort()).toEqual([`pack-${run}-0`, `pack-${run}-1`, `pack-${run}-2`]);
    expect(first.retryMessages).toEqual([]);
    expect(await countRun(run)).toBe(250);
    const again = await deliver(packs, `pack-${run}`);
    expect(again.explicitAcks).toHaveLength(3);
    expect(await countRun(run)).toBe(250);
  });

  it('takes packs and single-event messages (queued before packs) in the same batch', async () => {
    const run = runId();
    const events = storedEvents(run, 30);
    const result = await deliver([...packsOf(events.slice(0, 20)), ...events.slice(20)]);
    expect(result.explicitAcks).toHaveLength(11);
    expect(await countRun(run)).toBe(30);
  });

  it('a malformed entry of a pack is recorded alone as "<message id>#<index>"; the rest is stored and the pack acked', async () => {
    const run = runId();
    const good = storedEvents(run, 6);
    const poison = { type: 'track', messageId: `${run}-poison`, properties: { run, price: 'free' } };
    const pack = { ...packsOf(good)[0], events: [...good.slice(0, 2), poison, ...good.slice(2)] };
    const prefix = `pack-poison-${run}`;
    const result = await deliver([pack], prefix);
    expect(result.explicitAcks).toEqual([`${prefix}-0`]);
    expect(await countRun(run)).toBe(6);
    const records = await withDb((db) =>
      db
        .collection<RejectedRecord>('rejected_events')
        .find({ queueMessageId: `${prefix}-0` })
        .toArray(),
    );
    expect(records.map((record) => record._id)).toEqual([`${prefix}-0#2`]);
    expect(records[0]?.messageId).toBe(`${run}-poison`);
    expect(records[0]?.problems.map((p) => p.field)).toContain('properties.price');
    expect(JSON.parse(String(records[0]?.raw))).toEqual(poison);

    // Redelivered: the rejection is recorded once, not twice.
    await deliver([pack], prefix);
    const again = await withDb((db) =>
      db.collection('rejected_events').countDocuments({ queueMessageId: `${prefix}-0` }),
    );
    expect(again).toBe(1);
  });

  /**
   * Runs `work` on a database of the test's own that has `index` on `events` (an index in the shared
   * database would reach other files' events), delivering batches there with the batch's own client
   * (no writer object: it makes the consumer's indexes first); drops the database after.
   */
  async function withIndexedDatabase(
    index: { keys: Record<string, 1>; options: { name?: string; unique: true; sparse: true } },
    work: (
      deliverThere: (bodies: unknown[], prefix: string) => ReturnType<typeof getQueueResult>,
      database: string,
    ) => Promise<void>,
  ): Promise<void> {
    const database = `rx_index_${runId()}`;
    await withDb((db) => db.collection('events').createIndex(index.keys, index.options), database);
    try {
      await work(async (bodies, prefix) => {
        const batch = batchOf(bodies, prefix);
        const ctx = createExecutionContext();
        await worker.queue(batch, workerEnv({ MONGODB_DB: database, EVENT_WRITER: undefined }));
        return getQueueResult(batch, ctx);
      }, database);
    } finally {
      await withDb((db) => db.dropDatabase(), database);
    }
  }

  /** A unique index of a data team's own on `events`, which every event but the first of an order refuses. */
  const UNIQUE_ORDER_REF = {
    keys: { 'properties.order_ref': 1 as const },
    options: { unique: true as const, sparse: true as const },
  };

  /** `count` events of the run, all naming the same `order_ref`. */
  const sameOrderRef = (run: string, count: number) =>
    storedEvents(run, count).map((event) => ({
      ...event,
      properties: { ...event.properties, order_ref: `o-${run}` },
    }));

  it.skipIf(!hasMongoControl())(
    'an event a unique index of its own refuses (one a data team added) is recorded in rejected_events, not acked as stored',
    async () => {
      const run = runId();
      await withIndexedDatabase(UNIQUE_ORDER_REF, async (deliverThere, database) => {
        const [first, second] = sameOrderRef(run, 2);
        const prefix = `unique-${run}`;
        const result = await deliverThere([first, second], prefix);
        expect(result.explicitAcks.sort()).toEqual([`${prefix}-0`, `${prefix}-1`]);
        expect(await countRun(run, database)).toBe(1);
        const recorded = () =>
          withDb((db) => db.collection<RejectedRecord>('rejected_events').find().toArray(), database);
        const [record, ...more] = await recorded();
        expect(more).toEqual([]);
        expect(record?._id).toBe(`mongo:${second?.messageId}`);
        expect(record?.problems[0]?.reason).toMatch(/^MongoDB error 11000: .*order_ref/);
        // Delivered again: the stored one is a duplicate, the refused one is recorded once.
        expect((await deliverThere([first, second], prefix)).explicitAcks).toHaveLength(2);
        expect(await countRun(run, database)).toBe(1);
        expect(await recorded()).toHaveLength(1);
      });
    },
  );

  it.skipIf(!hasMongoControl())(
    'an event events refuses and rejected_events refuses too is retried, never acked: it would be in neither',
    async () => {
      const run = runId();
      await withIndexedDatabase(UNIQUE_ORDER_REF, async (deliverThere, database) => {
        // A unique index of the data team's own on rejected_events: the second record of the same
        // reason is refused for good, as the second event was by events.
        await withDb(
          (db) =>
            db
              .collection('rejected_events')
              .createIndex({ 'problems.reason': 1 }, { unique: true, sparse: true }),
          database,
        );
        const events = sameOrderRef(run, 3);
        const prefix = `neither-${run}`;
        const result = await deliverThere(events, prefix);
        // Stored, and refused with its record kept: acked. Refused with no record: retried (and, if it
        // stays so, dead-lettered, where a replay finds it once the index is fixed).
        expect(result.explicitAcks.sort()).toEqual([`${prefix}-0`, `${prefix}-1`]);
        expect(result.retryMessages.map((retry: { msgId: string }) => retry.msgId)).toEqual([`${prefix}-2`]);
        expect(await countRun(run, database)).toBe(1);
      });
    },
  );

  it.skipIf(!hasMongoControl())(
    "stores events where an index of the data team's own clashes with one the consumer makes",
    async () => {
      const run = runId();
      // The consumer's `order_id` index, but unique: the consumer's createIndexes is refused (85).
      const clashing = {
        keys: { 'properties.order_id': 1 as const },
        options: { name: 'order_id', unique: true as const, sparse: true as const },
      };
      await withIndexedDatabase(clashing, async (deliverThere, database) => {
        expect((await deliverThere(storedEvents(run, 3), `clash-${run}`)).explicitAcks).toHaveLength(3);
        expect(await countRun(run, database)).toBe(3);
        // Only the clashing index is left out: MongoDB builds a command's indexes all or none, so each
        // of ours has its own command, and the readers keep theirs.
        const names = await waitFor(
          () => withDb((db) => db.collection('events').listIndexes().toArray(), database),
          (indexes) => indexes.length >= 6,
          10_000,
        );
        expect(names.map((index) => index.name).sort()).toEqual([
          '_id_',
          'anonymous_time',
          'event_time',
          'order_id',
          'site_time',
          'user_time',
        ]);
      });
    },
  );

  it.skipIf(!/^mongodb(?:\+srv)?:\/\/[^/@]+@/.test(inject('mongoUri')))(
    '/healthz reads the writer object: its failed batch shows in an isolate that ran none, until a batch is written',
    async () => {
      const run = runId();
      const secret = `rotated-${run}`;
      const wrong = new URL(inject('mongoUri'));
      wrong.password = secret;
      const namespace = workerEnv().EVENT_WRITER;
      if (!namespace) throw new Error('the worker project binds EVENT_WRITER (wrangler.toml)');
      const writer = namespace.get(namespace.idFromName('events'));
      // The malformed events earlier tests sent through it show for an hour (a test of its own): not here.
      await runInDurableObject(writer, (_instance, state) => state.storage.delete('refused'));
      // The object's own settings (a rotated password): every batch through it fails.
      const writeWith = (uri: string, events: StoredEvent[]) =>
        runInDurableObject(writer, async (instance: EventWriter) => {
          const object = instance as unknown as { env: Env };
          const saved = object.env;
          object.env = { ...saved, MONGODB_URI: uri };
          try {
            return await instance.write({ events, rejected: [] });
          } finally {
            object.env = saved;
          }
        });
      const failed = await writeWith(wrong.toString(), storedEvents(run, 2));
      expect(failed.events.map((outcome) => outcome.kind)).toEqual(['retry', 'retry']);
      // This isolate has seen no failure of its own (queue batches run in isolates of their own).
      reportRecovery('mongodb');
      const fresh = { HEALTH_PROBE_CACHE_SECONDS: '0' };
      const down = await mongodbHealth(fresh);
      expect(down.mongodb?.status).toBe('degraded');
      expect(down.mongodb?.detail).toMatch(
        /^the last batch failed, none written since: .*Authentication failed/,
      );
      expect(down.text).not.toContain(secret);

      const written = await writeWith(inject('mongoUri'), storedEvents(run, 2));
      expect(written.events.map((outcome) => outcome.kind)).toEqual(['stored', 'stored']);
      expect((await mongodbHealth(fresh)).mongodb).toEqual({ status: 'ok' });
    },
  );

  it.skipIf(!hasMongoControl())(
    '/healthz shows events MongoDB refuses for good (kept in rejected_events) in an isolate that ran no batch',
    async () => {
      const run = runId();
      // A data team's unique index on an email: MongoDB's refusal quotes the value ("dup key: { … }").
      const unique = {
        keys: { 'properties.email': 1 as const },
        options: { unique: true as const, sparse: true as const },
      };
      const email = `ann-${run}@example.com`;
      await withIndexedDatabase(unique, async (_deliverThere, database) => {
        const namespace = workerEnv().EVENT_WRITER;
        if (!namespace) throw new Error('the worker project binds EVENT_WRITER (wrangler.toml)');
        // A writer of this test's own, on the database with the data team's unique index.
        const writer = namespace.get(namespace.idFromName(`refusals-${run}`));
        const events = storedEvents(run, 3).map((event) => ({
          ...event,
          properties: { ...event.properties, email },
        }));
        const result = await runInDurableObject(writer, async (instance: EventWriter) => {
          const object = instance as unknown as { env: Env };
          object.env = { ...object.env, MONGODB_DB: database };
          const written = await instance.write({ events, rejected: [] });
          return { written, status: await instance.status() };
        });
        expect(result.written.events.map((outcome) => outcome.kind)).toEqual([
          'stored',
          'invalid',
          'invalid',
        ]);
        expect(result.status.failure).toBeNull();
        expect(result.status.refused).toMatchObject({
          count: 2,
          detail: expect.stringMatching(/^MongoDB error 11000: .*properties\.email.* dup key: \(…\)$/),
        });
        // Kept without the value: the object's status is what a public page shows.
        expect(result.status.refused?.detail).not.toContain(email);
        // rejected_events (private) keeps the server's whole reason.
        const [record] = await withDb(
          (db) => db.collection<RejectedRecord>('rejected_events').find().toArray(),
          database,
        );
        expect(record?.problems[0]?.reason).toContain(email);

        // /healthz asks that writer (the one the consumer uses is named `events`): seen from a fresh isolate.
        const asking = { idFromName: () => ({}), get: () => writer } as unknown as Env['EVENT_WRITER'];
        reportRecovery('mongodb');
        const { mongodb, text } = await mongodbHealth({
          EVENT_WRITER: asking,
          HEALTH_PROBE_CACHE_SECONDS: '0',
        });
        expect(mongodb?.status).toBe('degraded');
        expect(mongodb?.detail).toMatch(
          /^2 event\(s\) kept out of events since .*, in rejected_events: MongoDB error 11000/,
        );
        expect(text).not.toContain(email);
        expect(text).not.toContain(`ann-${run}`);
      });
    },
  );

  it('/healthz says mongodb is down while events are queued but MONGODB_URI is not set (each would end in the DLQ)', async () => {
    const { mongodb } = await mongodbHealth({ MONGODB_URI: '', HEALTH_PROBE_CACHE_SECONDS: '0' });
    expect(mongodb).toEqual({
      status: 'down',
      detail: 'events are accepted and queued but cannot be stored: MONGODB_URI is not set',
    });
    // Without a queue nothing is accepted to store: not configured, as before.
    const { mongodb: alone } = await mongodbHealth({
      MONGODB_URI: '',
      EVENTS: undefined,
      HEALTH_PROBE_CACHE_SECONDS: '0',
    });
    expect(alone?.status).toBe('disabled');
  });

  it('a rejection record MongoDB could not take yet keeps /healthz degraded while its message is retried', async () => {
    const run = runId();
    // Stores every event, but not the record of the malformed one.
    const writer = {
      write: async (request: WriteRequest): Promise<WriteResult> => ({
        events: request.events.map(() => ({ kind: 'stored' })),
        rejected: request.rejected.map(() => ({ kind: 'retry', reason: 'MongoDB error 91: shutting down' })),
      }),
    };
    const namespace = { idFromName: () => ({}), get: () => writer } as unknown as Env['EVENT_WRITER'];
    const batch = batchOf(
      [storedEvents(run, 1)[0], { type: 'track', event: 'No Id' }],
      `record-retry-${run}`,
    );
    const ctx = createExecutionContext();
    await handleEventBatch(batch, workerEnv({ EVENT_WRITER: namespace }));
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([`record-retry-${run}-0`]);
    expect(result.retryMessages.map((retry: { msgId: string }) => retry.msgId)).toEqual([
      `record-retry-${run}-1`,
    ]);
    const { mongodb } = await mongodbHealth();
    expect(mongodb).toMatchObject({
      status: 'degraded',
      detail: 'Error: 1 event(s) will be retried: MongoDB error 91: shutting down',
    });
  });

  it('a pack with one event MongoDB could not take yet is retried whole; the other messages are acked', async () => {
    const run = runId();
    const packs = packsOf(storedEvents(run, 150)); // 100 + 50
    const unlucky = `${run}-120`; // in the second pack
    // A writer that stores everything but one event, as a transient per-document error would leave it.
    const writer = {
      write: async (request: WriteRequest): Promise<WriteResult> => ({
        events: request.events.map((event) =>
          event.messageId === unlucky ? { kind: 'retry', reason: 'transient' } : { kind: 'stored' },
        ),
        rejected: request.rejected.map(() => ({ kind: 'stored' })),
      }),
    };
    const namespace = { idFromName: () => ({}), get: () => writer } as unknown as Env['EVENT_WRITER'];
    const batch = batchOf(packs, `pack-retry-${run}`);
    const ctx = createExecutionContext();
    await handleEventBatch(batch, workerEnv({ EVENT_WRITER: namespace }));
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([`pack-retry-${run}-0`]);
    expect(result.retryMessages.map((retry: { msgId: string }) => retry.msgId)).toEqual([
      `pack-retry-${run}-1`,
    ]);
  });
});
