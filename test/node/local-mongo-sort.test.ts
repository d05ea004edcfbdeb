import { type Collection, MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalMongo, startLocalMongo } from '../../scripts/local-mongo/index.ts';
import { realTestMongoUri, testDatabaseName } from '../support/test-mongo.ts';

/**
 * Sorts and the memory they take, as the local MongoDB-compatible server emulates MongoDB's: a
 * blocking (in-memory) sort past the server's limit fails with 292 unless allowDiskUse lifts it (which
 * Atlas Free and Flex clusters ignore), and a sort a hinted index gives takes no memory. Held to 2 KB
 * here, the local server refuses what MongoDB refuses past 100 MB. The tests of `hint` itself (which
 * index, what order, a hint that names none) also run against a real MongoDB (RX_TEST_MONGODB_URI).
 */
const LIMIT = 2048;
const externalUri = realTestMongoUri();
const dbName = testDatabaseName();

let strict: LocalMongo;
let flex: LocalMongo;
let strictClient: MongoClient;
let flexClient: MongoClient;
/** A real MongoDB when RX_TEST_MONGODB_URI is set, else the strict local server. */
let client: MongoClient;

type Row = { _id: number; k: string; t: number; pad: string };

/** 30 rows of about 100 bytes (3 KB, past the limit): `k` a, b or c, `t` 0..29 stored out of order. */
const rows: Row[] = Array.from({ length: 30 }, (_, i) => {
  const t = (i * 7) % 30;
  return { _id: t, k: 'abc'[t % 3] ?? 'a', t, pad: 'x'.repeat(60) };
});

async function seeded(from: MongoClient): Promise<Collection<Row>> {
  const collection = from.db(dbName).collection<Row>('rows');
  if ((await collection.estimatedDocumentCount()) === 0) {
    await collection.insertMany(rows);
    await collection.createIndexes([
      { key: { k: 1, t: -1 }, name: 'k_time' },
      { key: { t: 1 }, name: 't_1' },
    ]);
  }
  return collection;
}

const sortError = (context: string) =>
  `${context} :: caused by :: Sort exceeded memory limit of ${LIMIT} bytes, but did not opt in to external sorting.`;

beforeAll(async () => {
  strict = await startLocalMongo({ blockingSortBytes: LIMIT });
  flex = await startLocalMongo({ blockingSortBytes: LIMIT, ignoreAllowDiskUse: true });
  strictClient = new MongoClient(strict.uri);
  flexClient = new MongoClient(flex.uri);
  client = externalUri ? new MongoClient(externalUri, { serverSelectionTimeoutMS: 5000 }) : strictClient;
});

afterAll(async () => {
  if (externalUri) await client?.db(dbName).dropDatabase();
  if (externalUri) await client?.close();
  await strictClient?.close();
  await flexClient?.close();
  await strict?.close();
  await flex?.close();
});

describe('local-mongo blocking sorts', () => {
  it('a $sort no index gives fails past the limit with 292, unless allowDiskUse: true', async () => {
    const collection = await seeded(strictClient);
    for (const options of [{}, { allowDiskUse: false }]) {
      const error = await collection
        .aggregate([{ $match: {} }, { $sort: { t: 1 } }], options)
        .toArray()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MongoServerError);
      expect(error).toMatchObject({
        code: 292,
        codeName: 'QueryExceededMemoryLimitNoDiskUseAllowed',
        errmsg: sortError('PlanExecutor error during aggregation'),
      });
    }
    const spilled = await collection.aggregate([{ $sort: { t: 1 } }], { allowDiskUse: true }).toArray();
    expect(spilled.map((row) => row.t)).toEqual(rows.map((_, t) => t));
  });

  it('ignores allowDiskUse when told to, as Atlas Free and Flex clusters do', async () => {
    const collection = await seeded(flexClient);
    await expect(
      collection.aggregate([{ $sort: { t: 1 } }], { allowDiskUse: true }).toArray(),
    ).rejects.toMatchObject({ code: 292 });
    // Under the limit, a sort in memory is fine: only what passes it fails.
    const few = await collection
      .aggregate([{ $match: { t: { $lt: 5 } } }, { $sort: { t: -1 } }], { allowDiskUse: true })
      .toArray();
    expect(few.map((row) => row.t)).toEqual([4, 3, 2, 1, 0]);
  });

  it('a $sort with a $limit after it holds only what it keeps; one after another stage is blocking even hinted', async () => {
    const collection = await seeded(strictClient);
    const top = await collection.aggregate([{ $sort: { t: -1 } }, { $limit: 3 }]).toArray();
    expect(top.map((row) => row.t)).toEqual([29, 28, 27]);
    // MongoDB pushes only leading $match stages into the index scan: after $project the sort is its own.
    await expect(
      collection.aggregate([{ $project: { t: 1, pad: 1 } }, { $sort: { t: 1 } }], { hint: 't_1' }).toArray(),
    ).rejects.toMatchObject({ code: 292 });
    // And a hinted index whose order is not the sort's gives nothing.
    await expect(
      collection.aggregate([{ $sort: { t: 1 } }], { hint: 'k_time' }).toArray(),
    ).rejects.toMatchObject({ code: 292 });
  });

  it('find: a sort past the limit fails the same way; a hinted one or a small top-k does not', async () => {
    const collection = await seeded(strictClient);
    await expect(collection.find({}).sort({ t: 1 }).toArray()).rejects.toMatchObject({
      code: 292,
      errmsg: sortError('Executor error during find command'),
    });
    const hinted = await collection.find({}).sort({ t: -1 }).hint({ t: 1 }).toArray();
    expect(hinted.map((row) => row.t)).toEqual(rows.map((_, t) => 29 - t));
    const top = await collection.find({}).sort({ t: 1 }).limit(2).toArray();
    expect(top.map((row) => row.t)).toEqual([0, 1]);
  });
});

describe('local-mongo hints answer like MongoDB', () => {
  it('a hinted index gives the sort of its keys, backward too, and after an equality on its first key', async () => {
    const collection = await seeded(client);
    const ascending = await collection
      .aggregate([{ $match: {} }, { $sort: { t: 1 } }], { hint: 't_1' })
      .toArray();
    expect(ascending.map((row) => row.t)).toEqual(rows.map((_, t) => t));
    // { k: 1, t: -1 } scanned backward: k descending, each k's rows oldest first.
    const backward = await collection
      .aggregate([{ $sort: { k: -1, t: 1 } }], { hint: { k: 1, t: -1 } })
      .toArray();
    expect(backward.map((row) => `${row.k}${row.t}`).slice(0, 4)).toEqual(['c2', 'c5', 'c8', 'c11']);
    expect(backward.map((row) => row.k).join('')).toBe(`${'c'.repeat(10)}${'b'.repeat(10)}${'a'.repeat(10)}`);
    // "Sort and Non-prefix Subset of an Index": k pinned by the filter, so the index gives t's order.
    const pinned = await collection
      .aggregate([{ $match: { k: 'b' } }, { $sort: { t: 1 } }, { $project: { _id: 0, t: 1 } }], {
        hint: 'k_time',
      })
      .toArray();
    expect(pinned).toEqual([1, 4, 7, 10, 13, 16, 19, 22, 25, 28].map((t) => ({ t })));
  });

  it('a hint that names no index is refused with 2 BadValue, by name or by key', async () => {
    const collection = await seeded(client);
    for (const hint of ['no_such_index', { k: 1 }]) {
      const error = await collection
        .aggregate([{ $match: {} }], { hint })
        .toArray()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MongoServerError);
      expect(error).toMatchObject({ code: 2, codeName: 'BadValue' });
      expect((error as Error).message).toMatch(/hint provided does not correspond to an existing index/);
    }
    // $natural is a collection scan, always there.
    const natural = await collection.aggregate([{ $match: { t: 3 } }], { hint: { $natural: 1 } }).toArray();
    expect(natural.map((row) => row.t)).toEqual([3]);
  });
});
