import {
  type Db,
  MongoBulkWriteError,
  MongoClient,
  MongoInvalidArgumentError,
  MongoServerError,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalMongo, startLocalMongo } from '../../scripts/local-mongo/index.ts';
import { realTestMongoUri, testDatabaseName } from '../support/test-mongo.ts';

/**
 * Where the local MongoDB-compatible server must answer exactly as MongoDB does for what the events
 * consumer and the trainer's reader rely on: the limits the driver reads from hello, documents MongoDB
 * refuses one by one in an unordered insert, batches it refuses whole, and transactions, which a
 * standalone refuses. Every test also runs against a real MongoDB (RX_TEST_MONGODB_URI,
 * test/support/test-mongo.ts), in a database of this run that is dropped at the end.
 */
const externalUri = realTestMongoUri();
const dbName = testDatabaseName();

let server: LocalMongo | undefined;
let client: MongoClient;
let db: Db;

/** A document whose `_id` the test chooses (the driver's default typing expects an ObjectId). */
type Keyed = { _id: number; [field: string]: unknown };

/** MongoDB's largest document (hello's maxBsonObjectSize) and deepest one it stores. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
const MAX_STORED_LEVELS = 180;

beforeAll(async () => {
  if (!externalUri) server = await startLocalMongo();
  client = new MongoClient(externalUri ?? server?.uri ?? '', { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  db = client.db(dbName);
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
  await server?.close();
});

/** `{ _id: 0, x: 'aaa…' }` of exactly `bytes` BSON bytes (an int32 `_id` and an empty string take 22). */
function documentOfSize(bytes: number): Keyed {
  return { _id: 0, x: 'a'.repeat(bytes - 22) };
}

/** A document with `levels` levels of nesting, the top level included; `innermost` is the deepest object. */
function nestedDocument(id: number, levels: number, innermost: Record<string, unknown> = { v: 1 }): Keyed {
  let value = innermost;
  for (let level = 3; level <= levels; level += 1) value = { d: value };
  return { _id: id, d: value };
}

describe('local-mongo answers like MongoDB', () => {
  it("advertises MongoDB's limits in hello, which the driver splits batches and refuses documents by", async () => {
    const hello = await db.admin().command({ hello: 1 });
    expect(hello).toMatchObject({
      maxBsonObjectSize: MAX_DOCUMENT_BYTES,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
    });
    const error = await db
      .collection<Keyed>('driver_refuses')
      .insertMany([documentOfSize(MAX_DOCUMENT_BYTES)], { ordered: false })
      .catch((caught: unknown) => caught);
    // Not a MongoBulkWriteError: no per-document verdict, so the events consumer would retry the batch.
    expect(error).toBeInstanceOf(MongoInvalidArgumentError);
    expect((error as Error).message).toBe(`Document is larger than the maximum size ${MAX_DOCUMENT_BYTES}`);
    expect(await db.collection('driver_refuses').countDocuments()).toBe(0);
  });

  it('refuses a document over 16 MiB on its own (BadValue, 2) and stores the rest of an unordered insert', async () => {
    // The driver refuses such a document before sending it; a command built by hand reaches the server.
    const reply = await db.command({
      insert: 'too_large',
      ordered: false,
      documents: [documentOfSize(MAX_DOCUMENT_BYTES + 1), { _id: 1 }],
    });
    expect(reply.n).toBe(1);
    expect(reply.writeErrors).toHaveLength(1);
    expect(reply.writeErrors[0]).toMatchObject({ index: 0, code: 2 });
    expect(reply.writeErrors[0].errmsg).toContain('object to insert too large');
    expect(await db.collection('too_large').find().toArray()).toEqual([{ _id: 1 }]);

    // Exactly 16 MiB is still a document MongoDB stores.
    const atLimit = await db.command({ insert: 'at_limit', documents: [documentOfSize(MAX_DOCUMENT_BYTES)] });
    expect(atLimit).toMatchObject({ n: 1, ok: 1 });
    expect(atLimit.writeErrors).toBeUndefined();
  });

  it('refuses a document nested deeper than 180 levels on its own (Overflow, 15), as MongoDB does', async () => {
    const deep = db.collection<Keyed>('deep');
    const error = await deep
      .insertMany(
        [
          nestedDocument(1, MAX_STORED_LEVELS + 1),
          nestedDocument(2, MAX_STORED_LEVELS),
          // Empty objects and arrays do not count as a level.
          nestedDocument(3, MAX_STORED_LEVELS, { v: 1, empty: {}, list: [] }),
        ],
        { ordered: false },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulkError = error as MongoBulkWriteError;
    const writeErrors = Array.isArray(bulkError.writeErrors)
      ? bulkError.writeErrors
      : [bulkError.writeErrors];
    expect(writeErrors.map((writeError) => [writeError.index, writeError.code])).toEqual([[0, 15]]);
    expect(bulkError.insertedCount).toBe(2);
    const stored = await deep.find({}, { projection: { _id: 1 }, sort: { _id: 1 } }).toArray();
    expect(stored.map((doc) => doc._id)).toEqual([2, 3]);
  });

  it('refuses an empty batch and one over maxWriteBatchSize whole (InvalidLength, 16), writing nothing', async () => {
    for (const documents of [[], Array.from({ length: 100_001 }, (_, i) => ({ _id: i }))]) {
      const error = await db
        .command({ insert: 'batch_sizes', ordered: false, documents })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MongoServerError);
      expect((error as MongoServerError).code).toBe(16);
      expect((error as MongoServerError).message).toBe(
        `Write batch sizes must be between 1 and 100000. Got ${documents.length} operations.`,
      );
    }
    for (const command of [
      { update: 'batch_sizes', updates: [] },
      { delete: 'batch_sizes', deletes: [] },
    ]) {
      const error = await db.command(command).catch((caught: unknown) => caught);
      expect((error as MongoServerError).code).toBe(16);
    }
    expect(await db.collection('batch_sizes').countDocuments()).toBe(0);
  });

  it('creates the indexes of one createIndexes all or none: a spec that clashes leaves the others uncreated', async () => {
    const events = db.collection('index_clash');
    await events.createIndex({ order_id: 1 }, { name: 'order_id', unique: true, sparse: true });
    // The consumer's own list in one command: the last clashes with the unique one above (85).
    const clash = await events
      .createIndexes([
        { key: { user: 1 }, name: 'user_time' },
        { key: { order_id: 1 }, name: 'order_id' },
      ])
      .catch((caught: unknown) => caught);
    expect((clash as MongoServerError).code).toBe(85);
    const names = (await events.listIndexes().toArray()).map((index) => index.name);
    expect(names.sort()).toEqual(['_id_', 'order_id']);
    // Alone, the spec that does not clash is created.
    await events.createIndexes([{ key: { user: 1 }, name: 'user_time' }]);
    expect((await events.listIndexes().toArray()).map((index) => index.name).sort()).toEqual([
      '_id_',
      'order_id',
      'user_time',
    ]);
  });

  it('answers a single-batch find (a negative limit) with one default batch of 101, or batchSize', async () => {
    const many = db.collection<Keyed>('single_batch');
    await many.insertMany(Array.from({ length: 150 }, (_, i) => ({ _id: i })));
    expect(
      await many
        .find({}, { sort: { _id: 1 } })
        .limit(-150)
        .toArray(),
    ).toHaveLength(101);
    const small = await many
      .find({}, { sort: { _id: 1 }, batchSize: 10 })
      .limit(-150)
      .toArray();
    expect(small.map((doc) => doc._id)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(await many.find({}).toArray()).toHaveLength(150); // not single-batch: getMore brings the rest
  });

  it('runs a transaction atomically on a replica set, and a standalone refuses it (IllegalOperation, 20) before writing', async () => {
    const hello = await db.admin().command({ hello: 1 });
    const supportsTransactions = hello.setName !== undefined || hello.msg === 'isdbgrid';
    const ledger = db.collection<Keyed>('ledger');
    const session = client.startSession();
    try {
      const outcome = await session
        .withTransaction(async () => {
          await ledger.insertOne({ _id: 1 }, { session });
          await ledger.insertOne({ _id: 2 }, { session });
        })
        .then(
          () => 'committed',
          (error: unknown) => error,
        );
      if (supportsTransactions) {
        expect(outcome).toBe('committed');
        expect(await ledger.countDocuments()).toBe(2);
      } else {
        // What a transaction must never do on any server: apply its writes without being one.
        expect(outcome).toBeInstanceOf(MongoServerError);
        expect(outcome).toMatchObject({ code: 20, codeName: 'IllegalOperation' });
        expect(await ledger.countDocuments()).toBe(0);
      }
    } finally {
      await session.endSession();
    }
  });
});
