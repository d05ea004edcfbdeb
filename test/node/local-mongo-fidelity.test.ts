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

/** The error a promise was rejected with (the test fails if it was not rejected). */
async function refusal(promise: Promise<unknown>): Promise<MongoServerError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(MongoServerError);
  return outcome as MongoServerError;
}

describe('local-mongo refuses what MongoDB refuses', () => {
  it("refuses a command field MongoDB's parser does not know (40415) and runs nothing", async () => {
    const typos = db.collection<Keyed>('typos');
    await typos.insertOne({ _id: 1 });
    for (const [command, field] of [
      [{ find: 'typos', foo: 1 }, 'find.foo'],
      [{ aggregate: 'typos', pipeline: [], cursor: {}, bogus: true }, 'aggregate.bogus'],
      [{ insert: 'typos', documents: [{ _id: 2 }], ordred: false }, 'insert.ordred'],
      [{ delete: 'typos', deletes: [{ q: {}, limit: 0 }], justOne: true }, 'delete.justOne'],
      [{ update: 'typos', updates: [{ q: {}, u: { $set: { x: 1 } }, upsrt: true }] }, 'update.updates.upsrt'],
      [
        { findAndModify: 'typos', query: {}, update: { $set: { x: 1 } }, returnNew: true },
        'findAndModify.returnNew',
      ],
      [{ count: 'typos', filter: { _id: 1 } }, 'count.filter'],
    ] as const) {
      const error = await refusal(db.command(command));
      expect(error).toMatchObject({ code: 40415, codeName: 'Location40415' });
      expect(error.message).toBe(`BSON field '${field}' is an unknown field.`);
    }
    expect(await typos.find().toArray()).toEqual([{ _id: 1 }]);
  });

  it('refuses an update or delete statement without its q (40414), the whole command, changing nothing', async () => {
    const statements = db.collection<Keyed>('statements');
    await statements.insertMany([{ _id: 1 }, { _id: 2 }]);
    for (const [command, field] of [
      [{ update: 'statements', updates: [{ u: { $set: { k: 1 } } }] }, 'update.updates.q'],
      [
        { update: 'statements', updates: [{ q: { _id: 1 }, u: { $set: { k: 1 } } }, { q: {} }] },
        'update.updates.u',
      ],
      [{ delete: 'statements', deletes: [{ limit: 0 }] }, 'delete.deletes.q'],
      [{ delete: 'statements', deletes: [{ q: {} }] }, 'delete.deletes.limit'],
    ] as const) {
      const error = await refusal(db.command(command));
      expect(error).toMatchObject({ code: 40414, codeName: 'Location40414' });
      expect(error.message).toBe(`BSON field '${field}' is missing but a required field`);
    }
    expect(await statements.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1 }, { _id: 2 }]);
  });

  it('refuses two operators on one path (ConflictingUpdateOperators, 40), $setOnInsert included, writing nothing', async () => {
    const conflicts = db.collection<{ _id: number; a?: unknown }>('conflicts');
    await conflicts.insertOne({ _id: 1, a: { b: 1 } });
    const upsert = await refusal(
      conflicts.updateOne({ _id: 2 }, { $set: { a: 1 }, $setOnInsert: { a: 2 } }, { upsert: true }),
    );
    expect(upsert.code).toBe(40);
    expect(upsert.message).toBe("Updating the path 'a' would create a conflict at 'a'");
    // Refused when MongoDB parses the update: the same when it matches a document and inserts nothing.
    const matched = await refusal(
      conflicts.updateOne({ _id: 1 }, { $set: { a: 1 }, $setOnInsert: { a: 2 } }),
    );
    expect(matched.code).toBe(40);
    const nested = await refusal(
      conflicts.updateOne({ _id: 1 }, { $set: { a: { b: 2 } }, $inc: { 'a.b': 1 } }),
    );
    expect(nested.code).toBe(40);
    expect(nested.message).toContain('would create a conflict at');
    // And when it matches nothing at all, without an upsert.
    const nothing = await refusal(
      conflicts.updateMany({ _id: 99 }, { $set: { a: 1 }, $inc: { a: 1 } as never }),
    );
    expect(nothing.code).toBe(40);
    const modifyNothing = await refusal(
      conflicts.findOneAndUpdate({ _id: 99 }, { $set: { a: 1 }, $unset: { a: '' } }),
    );
    expect(modifyNothing.code).toBe(40);
    expect(await conflicts.find().toArray()).toEqual([{ _id: 1, a: { b: 1 } }]);
  });

  it('refuses $inc of a value that is not a number, and by one (TypeMismatch, 14), leaving the document as it was', async () => {
    const counters = db.collection<{ _id: number; a?: unknown }>('counters');
    await counters.insertOne({ _id: 2, a: '7' });
    const target = await refusal(counters.updateOne({ _id: 2 }, { $inc: { a: 1 } as never }));
    expect(target.code).toBe(14);
    expect(target.message).toBe(
      "Cannot apply $inc to a value of non-numeric type. {_id: 2} has the field 'a' of non-numeric type string",
    );
    const argument = await refusal(counters.updateOne({ _id: 2 }, { $inc: { b: '1' } as never }));
    expect(argument.code).toBe(14);
    expect(argument.message).toBe('Cannot increment with non-numeric argument: {b: "1"}');
    // The argument is refused when the update is parsed, so also when it matches nothing.
    const unmatched = await refusal(counters.updateOne({ _id: 99 }, { $inc: { b: '1' } as never }));
    expect(unmatched.code).toBe(14);
    expect(await counters.find().toArray()).toEqual([{ _id: 2, a: '7' }]);
  });

  it('refuses a path through a value that cannot hold fields (PathNotViable, 28), leaving the document as it was', async () => {
    const paths = db.collection<{ _id: number; [field: string]: unknown }>('paths');
    const stored = { _id: 1, a: 5, none: null, list: [{ x: 1 }] };
    await paths.insertOne(stored);
    const scalar = await refusal(paths.updateOne({ _id: 1 }, { $set: { 'a.b': 1 } }));
    expect(scalar.code).toBe(28);
    expect(scalar.message).toBe("Cannot create field 'b' in element {a: 5}");
    for (const field of ['none.b', 'list.x']) {
      expect((await refusal(paths.updateOne({ _id: 1 }, { $set: { [field]: 1 } }))).code).toBe(28);
    }
    expect(await paths.find().toArray()).toEqual([stored]);
  });

  it('refuses index specifications MongoDB cannot build (67, 197, 86), creating none of the command', async () => {
    const indexed = db.collection<Keyed>('indexed');
    await indexed.insertOne({ _id: 1 });
    const createIndexes = (indexes: unknown[]) => db.command({ createIndexes: 'indexed', indexes });
    for (const key of [{ q: true }, { q: 0 }, { q: 'no_such_type' }, { $q: 1 }]) {
      const error = await refusal(createIndexes([{ key, name: 'q' }]));
      expect(error).toMatchObject({ code: 67, codeName: 'CannotCreateIndex' });
      expect(error.message).toContain('Error in specification');
    }
    const option = await refusal(createIndexes([{ key: { z: 1 }, name: 'z_1', bogus: 1 }]));
    expect(option).toMatchObject({ code: 197, codeName: 'InvalidIndexSpecificationOption' });
    expect(option.message).toContain("The field 'bogus' is not valid for an index specification.");
    const sameName = await refusal(
      createIndexes([
        { key: { y: 1 }, name: 'yy' },
        { key: { w: 1 }, name: 'yy' },
      ]),
    );
    expect(sameName).toMatchObject({ code: 86, codeName: 'IndexKeySpecsConflict' });
    expect((await indexed.listIndexes().toArray()).map((index) => index.name)).toEqual(['_id_']);
  });

  it('refuses an _id MongoDB cannot store (a regex, a $-prefixed field), on its own in an unordered insert', async () => {
    const ids = db.collection('ids');
    const error = await ids
      .insertMany([{ _id: /x/ }, { _id: { $x: 1 } }, { _id: 3 }, { _id: { a: 1 } }] as never[], {
        ordered: false,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulkError = error as MongoBulkWriteError;
    const writeErrors = Array.isArray(bulkError.writeErrors)
      ? bulkError.writeErrors
      : [bulkError.writeErrors];
    expect(writeErrors.map((writeError) => writeError.index)).toEqual([0, 1]);
    // A regex _id is 2 BadValue "can't use a regex for _id" up to MongoDB 7.0; 8.0 answers 53 InvalidIdField.
    expect([2, 53]).toContain(writeErrors[0]?.code);
    expect(writeErrors[1]).toMatchObject({ code: 52 });
    expect(writeErrors[1]?.errmsg).toBe(
      "_id fields may not contain '$'-prefixed fields: $x is not valid for storage.",
    );
    expect(bulkError.insertedCount).toBe(2);
    expect(await ids.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 3 }, { _id: { a: 1 } }]);
  });
});

describe('local-mongo queries like MongoDB', () => {
  it('matches $type against the elements of an array, as every MongoDB predicate does', async () => {
    const people = db.collection<Keyed>('people');
    await people.insertMany([
      { _id: 1, anonymousId: ['x', 'y'] },
      { _id: 2, anonymousId: 'z' },
      { _id: 3, anonymousId: 5 },
      { _id: 4 },
      { _id: 5, anonymousId: [5, 6] },
      { _id: 6, profiles: [{ id: 7 }, { id: 'p' }] },
    ]);
    const ids = (docs: Keyed[]) => docs.map((doc) => doc._id);
    const find = (filter: object) => people.find(filter, { sort: { _id: 1 } }).toArray();
    expect(ids(await find({ anonymousId: { $type: 'string' } }))).toEqual([1, 2]);
    expect(ids(await find({ anonymousId: { $not: { $type: 'string' } } }))).toEqual([3, 4, 5, 6]);
    expect(ids(await find({ anonymousId: { $type: 'array' } }))).toEqual([1, 5]);
    expect(ids(await find({ anonymousId: { $type: ['int', 'double'] } }))).toEqual([3, 5]);
    expect(ids(await find({ 'profiles.id': { $type: 'string' } }))).toEqual([6]);
    const matched = await people
      .aggregate<Keyed>([{ $match: { anonymousId: { $type: 'string' } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(ids(matched)).toEqual([1, 2]);
    const unknown = await refusal(find({ anonymousId: { $type: 'text' } }));
    expect(unknown.code).toBe(2);
  });

  it("leaves a missing value out of $group's $push and $addToSet (a null stays in)", async () => {
    const grouped = db.collection<Keyed>('grouped');
    await grouped.insertMany([
      { _id: 1, g: 'a', v: 1 },
      { _id: 2, g: 'a' },
      { _id: 3, g: 'a', v: null },
      { _id: 4, g: 'a', v: 1 },
      { _id: 5, g: 'b' },
    ]);
    const groups = await grouped
      .aggregate([
        { $sort: { _id: 1 } },
        { $group: { _id: '$g', pushed: { $push: '$v' }, set: { $addToSet: '$v' } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(groups.map(({ _id, pushed }) => ({ _id, pushed }))).toEqual([
      { _id: 'a', pushed: [1, null, 1] },
      { _id: 'b', pushed: [] },
    ]);
    // A set has no order.
    expect(groups[0]?.set).toHaveLength(2);
    expect(groups[0]?.set).toEqual(expect.arrayContaining([1, null]));
    expect(groups[1]?.set).toEqual([]);
  });

  it('puts _id first in what an inclusion projection returns, in find and in $project', async () => {
    const shaped = db.collection<Keyed>('shaped');
    await shaped.insertOne({ _id: 1, a: 1, b: { c: 1, d: 2 }, e: 3 });
    const [found] = await shaped.find({}, { projection: { e: 1, 'b.d': 1, a: 1 } }).toArray();
    expect(found).toEqual({ _id: 1, a: 1, b: { d: 2 }, e: 3 });
    expect(Object.keys(found ?? {})[0]).toBe('_id');
    const [projected] = await shaped
      .aggregate([{ $project: { e: 1, a: 1, sum: { $add: ['$a', '$e'] } } }])
      .toArray();
    expect(projected).toEqual({ _id: 1, a: 1, e: 3, sum: 4 });
    expect(Object.keys(projected ?? {})[0]).toBe('_id');
  });
});
