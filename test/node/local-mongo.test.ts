import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BSON } from 'bson';
import { type Db, MongoBulkWriteError, MongoClient, MongoServerError, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalMongo, startLocalMongo } from '../../scripts/local-mongo/index.ts';
import { realTestMongoUri, testDatabaseName } from '../support/test-mongo.ts';
import { TEST_CA_FILE, testTlsCredentials } from '../support/trust-test-ca.ts';

/**
 * The official driver against our local MongoDB-compatible server, or against a real MongoDB
 * when RX_TEST_MONGODB_URI is set (test/support/test-mongo.ts; then every test that does not need
 * the local server runs unchanged, in a database unique to this run that is dropped afterwards).
 */
const externalUri = realTestMongoUri();
const dbName = testDatabaseName();

let server: LocalMongo | undefined;
let client: MongoClient;
let db: Db;
const commandsSeen: string[] = [];

/** A document whose `_id` the test chooses (the driver's default typing expects an ObjectId). */
type Keyed<Id> = { _id: Id; [field: string]: unknown };

beforeAll(async () => {
  if (!externalUri) server = await startLocalMongo();
  const uri = externalUri ?? server?.uri ?? '';
  client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
  client.on('commandStarted', (event) => commandsSeen.push(event.commandName));
  await client.connect();
  db = client.db(dbName);
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
  await server?.close();
});

describe('local-mongo with the official driver', () => {
  it('answers ping and a hello describing a writable standalone', async () => {
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const hello = await db.admin().command({ hello: 1 });
    expect(hello.isWritablePrimary).toBe(true);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(17);
    expect(hello.setName).toBeUndefined();
  });

  it('stops an ordered insertMany at the first duplicate _id with E11000', async () => {
    const events = db.collection<{ _id: string; n?: number }>('ordered');
    await events.insertOne({ _id: 'a', n: 0 });
    const error = await events
      .insertMany([{ _id: 'b' }, { _id: 'c' }, { _id: 'a' }, { _id: 'd' }], { ordered: true })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulkError = error as MongoBulkWriteError;
    expect(bulkError.code).toBe(11000);
    expect(bulkError.insertedCount).toBe(2);
    expect(bulkError.insertedIds).toEqual({ 0: 'b', 1: 'c' });
    const writeErrors = Array.isArray(bulkError.writeErrors)
      ? bulkError.writeErrors
      : [bulkError.writeErrors];
    expect(writeErrors.map((writeError) => writeError.index)).toEqual([2]);
    expect(writeErrors[0]?.errmsg).toBe(
      `E11000 duplicate key error collection: ${dbName}.ordered index: _id_ dup key: { _id: "a" }`,
    );
    expect(await events.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
      { _id: 'a', n: 0 },
      { _id: 'b' },
      { _id: 'c' },
    ]);
  });

  it('continues an unordered insertMany past duplicates and names every failed index', async () => {
    const events = db.collection<{ _id: string }>('unordered');
    await events.insertOne({ _id: 'm1' });
    const error = await events
      .insertMany([{ _id: 'm2' }, { _id: 'm1' }, { _id: 'm3' }, { _id: 'm2' }, { _id: 'm4' }], {
        ordered: false,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulkError = error as MongoBulkWriteError;
    expect(bulkError.insertedCount).toBe(3);
    const writeErrors = Array.isArray(bulkError.writeErrors)
      ? bulkError.writeErrors
      : [bulkError.writeErrors];
    expect(writeErrors.map((writeError) => [writeError.index, writeError.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    expect(await events.countDocuments()).toBe(4);
  });

  it('generates an ObjectId _id and round-trips BSON types', async () => {
    const typed = db.collection('typed');
    const when = new Date('2024-05-06T07:08:09.010Z');
    const { insertedId } = await typed.insertOne({
      when,
      ref: new ObjectId(),
      nested: { list: [1, 'two', null] },
    });
    expect(insertedId).toBeInstanceOf(ObjectId);
    const found = await typed.findOne({ _id: insertedId });
    expect(found?.when).toEqual(when);
    expect(found?.ref).toBeInstanceOf(ObjectId);
    expect(found?.nested).toEqual({ list: [1, 'two', null] });
  });

  it('refuses an index that exists under its name with other options (85), as MongoDB does', async () => {
    const expiring = db.collection('expiring');
    expect(await expiring.createIndex({ at: 1 }, { name: 'at_1', expireAfterSeconds: 60 })).toBe('at_1');
    expect(await expiring.createIndex({ at: 1 }, { name: 'at_1', expireAfterSeconds: 60 })).toBe('at_1');
    const changed = await expiring
      .createIndex({ at: 1 }, { name: 'at_1', expireAfterSeconds: 120 })
      .catch((caught: unknown) => caught);
    expect((changed as MongoServerError).code).toBe(85);
    const indexes = await expiring.listIndexes().toArray();
    expect(indexes.find((index) => index.name === 'at_1')?.expireAfterSeconds).toBe(60);
  });

  it('enforces a unique index on inserts and updates, and re-creating it is a no-op', async () => {
    const orders = db.collection<{ _id: number; order_id: string }>('orders');
    expect(await orders.createIndex({ order_id: 1 }, { unique: true })).toBe('order_id_1');
    expect(await orders.createIndex({ order_id: 1 }, { unique: true })).toBe('order_id_1');
    await orders.insertMany([
      { _id: 1, order_id: 'o-1' },
      { _id: 2, order_id: 'o-2' },
    ]);
    const insertError = await orders
      .insertOne({ _id: 3, order_id: 'o-1' })
      .catch((caught: unknown) => caught);
    expect(insertError).toBeInstanceOf(MongoServerError);
    expect((insertError as MongoServerError).code).toBe(11000);
    expect((insertError as MongoServerError).keyValue).toEqual({ order_id: 'o-1' });
    expect((insertError as MongoServerError).message).toContain(
      'index: order_id_1 dup key: { order_id: "o-1" }',
    );

    const updateError = await orders
      .updateOne({ _id: 2 }, { $set: { order_id: 'o-1' } })
      .catch((caught: unknown) => caught);
    expect((updateError as MongoServerError).code).toBe(11000);
    expect(await orders.findOne({ _id: 2 })).toEqual({ _id: 2, order_id: 'o-2' });

    const indexes = await orders.listIndexes().toArray();
    expect(indexes.map((index) => [index.name, index.unique === true])).toEqual([
      ['_id_', false],
      ['order_id_1', true],
    ]);
  });

  it('refuses to build a unique index over existing duplicates', async () => {
    const dupes = db.collection('dupes');
    await dupes.insertMany([{ sku: 'x' }, { sku: 'x' }]);
    const error = await dupes.createIndex({ sku: 1 }, { unique: true }).catch((caught: unknown) => caught);
    expect((error as MongoServerError).code).toBe(11000);
    await dupes.insertOne({ sku: 'x' });
    expect(await dupes.countDocuments({ sku: 'x' })).toBe(3);
  });

  it('finds with filter, sort, skip, limit and projection', async () => {
    const products = db.collection<Keyed<number>>('products');
    await products.insertMany(
      Array.from({ length: 20 }, (_, i) => ({
        _id: i,
        price: (i * 7) % 20,
        category: i % 2 ? 'odd' : 'even',
      })),
    );
    const found = await products
      .find({ category: 'odd', price: { $gte: 5 } }, { projection: { price: 1, _id: 0 } })
      .sort({ price: -1 })
      .skip(1)
      .limit(3)
      .toArray();
    const expectedPrices = Array.from({ length: 20 }, (_, i) => i)
      .filter((i) => i % 2 === 1 && (i * 7) % 20 >= 5)
      .map((i) => (i * 7) % 20)
      .sort((a, b) => b - a)
      .slice(1, 4);
    expect(found).toEqual(expectedPrices.map((price) => ({ price })));
  });

  it('streams more than 101 documents through getMore with a small batchSize', async () => {
    const many = db.collection<{ _id: number }>('many');
    await many.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: i })));
    const getMoresBefore = commandsSeen.filter((name) => name === 'getMore').length;
    const ids: number[] = [];
    for await (const doc of many.find({}, { batchSize: 40 }).sort({ _id: 1 })) ids.push(doc._id);
    expect(ids).toEqual(Array.from({ length: 250 }, (_, i) => i));
    const getMores = commandsSeen.filter((name) => name === 'getMore').length - getMoresBefore;
    expect(getMores).toBeGreaterThanOrEqual(6); // 250 documents in batches of 40
    expect(await many.find().toArray()).toHaveLength(250); // default first batch of 101, then getMore
  });

  it('closes a cursor the client abandons', async () => {
    const many = db.collection('abandoned');
    await many.insertMany(Array.from({ length: 30 }, (_, i) => ({ i })));
    const cursor = many.find({}, { batchSize: 5 });
    expect(await cursor.next()).toMatchObject({ i: 0 });
    await cursor.close();
    expect(commandsSeen).toContain('killCursors');
  });

  it('aggregates with $match, $group, $sort, $unwind and $lookup', async () => {
    const events = db.collection('agg_events');
    await events.insertMany([
      { user: 'u1', event: 'Order Completed', products: [{ product_id: 'p1' }, { product_id: 'p2' }] },
      { user: 'u2', event: 'Order Completed', products: [{ product_id: 'p1' }] },
      { user: 'u1', event: 'Product Viewed', products: [{ product_id: 'p3' }] },
    ]);
    await db.collection<Keyed<string>>('agg_products').insertMany([
      { _id: 'p1', title: 'Mug' },
      { _id: 'p2', title: 'Lamp' },
    ]);
    const rows = await events
      .aggregate([
        { $match: { event: 'Order Completed' } },
        { $unwind: '$products' },
        { $group: { _id: '$products.product_id', orders: { $sum: 1 } } },
        { $sort: { orders: -1, _id: 1 } },
        { $lookup: { from: 'agg_products', localField: '_id', foreignField: '_id', as: 'product' } },
        { $project: { _id: 1, orders: 1, title: { $first: '$product.title' } } },
      ])
      .toArray();
    expect(rows).toEqual([
      { _id: 'p1', orders: 2, title: 'Mug' },
      { _id: 'p2', orders: 1, title: 'Lamp' },
    ]);
  });

  it('counts documents, estimates the count and lists distinct values', async () => {
    const counted = db.collection('counted');
    await counted.insertMany(Array.from({ length: 12 }, (_, i) => ({ bucket: i % 3, tags: [`t${i % 2}`] })));
    expect(await counted.countDocuments({ bucket: 1 })).toBe(4);
    expect(await counted.countDocuments({}, { skip: 2, limit: 5 })).toBe(5);
    expect(await counted.estimatedDocumentCount()).toBe(12);
    expect((await counted.distinct('bucket')).sort()).toEqual([0, 1, 2]);
    expect((await counted.distinct('tags', { bucket: 0 })).sort()).toEqual(['t0', 't1']);
  });

  it('upserts with updateOne, applies operators, and replaces', async () => {
    const profiles = db.collection<{ _id: string; views?: number; first?: string; name?: string }>(
      'profiles',
    );
    const first = await profiles.updateOne(
      { _id: 'u1' },
      { $inc: { views: 1 }, $setOnInsert: { first: 'home' } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);
    expect(first.upsertedId).toBe('u1');
    const second = await profiles.updateOne(
      { _id: 'u1' },
      { $inc: { views: 1 }, $setOnInsert: { first: 'cart' } },
      { upsert: true },
    );
    expect([second.matchedCount, second.modifiedCount, second.upsertedCount]).toEqual([1, 1, 0]);
    expect(await profiles.findOne({ _id: 'u1' })).toEqual({ _id: 'u1', views: 2, first: 'home' });

    const unchanged = await profiles.updateOne({ _id: 'u1' }, { $set: { views: 2 } });
    expect([unchanged.matchedCount, unchanged.modifiedCount]).toEqual([1, 0]);

    const generated = await profiles.updateOne({ name: 'ann' }, { $set: { views: 5 } }, { upsert: true });
    expect(generated.upsertedId).toBeInstanceOf(ObjectId);
    expect(await profiles.findOne({ name: 'ann' })).toMatchObject({ name: 'ann', views: 5 });

    await profiles.replaceOne({ _id: 'u1' }, { name: 'bob' });
    expect(await profiles.findOne({ _id: 'u1' })).toEqual({ _id: 'u1', name: 'bob' });

    const many = await profiles.updateMany({}, { $set: { seen: true } });
    expect(many.modifiedCount).toBe(2);

    const immutable = await profiles
      .updateOne({ _id: 'u1' }, { $set: { _id: 'other' } })
      .catch((caught: unknown) => caught);
    expect((immutable as MongoServerError).code).toBe(66);
  });

  it('finds and modifies one document', async () => {
    const counters = db.collection<{ _id: string; seq: number }>('counters');
    const created = await counters.findOneAndUpdate(
      { _id: 'orders' },
      { $inc: { seq: 1 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(created).toEqual({ _id: 'orders', seq: 1 });
    const before = await counters.findOneAndUpdate({ _id: 'orders' }, { $inc: { seq: 1 } });
    expect(before).toEqual({ _id: 'orders', seq: 1 });
    expect(await counters.findOneAndDelete({ _id: 'orders' })).toEqual({ _id: 'orders', seq: 2 });
    expect(await counters.countDocuments()).toBe(0);
  });

  it('deletes one and many', async () => {
    const trash = db.collection('trash');
    await trash.insertMany(Array.from({ length: 10 }, (_, i) => ({ keep: i < 3 })));
    expect((await trash.deleteOne({ keep: true })).deletedCount).toBe(1);
    expect((await trash.deleteMany({ keep: false })).deletedCount).toBe(7);
    expect(await trash.countDocuments()).toBe(2);
  });

  it('lists collections (also nameOnly) and drops one', async () => {
    await db.createCollection('listed_a');
    await db.collection('listed_b').insertOne({ x: 1 });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((entry) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['listed_a', 'listed_b']));
    const filtered = await db.listCollections({ name: 'listed_b' }).toArray();
    expect(filtered.map((entry) => [entry.name, entry.type])).toEqual([['listed_b', 'collection']]);
    const exists = await db.createCollection('listed_a').catch((caught: unknown) => caught);
    expect((exists as MongoServerError).code).toBe(48);

    expect(await db.collection('listed_b').drop()).toBe(true);
    const after = (await db.listCollections({}, { nameOnly: true }).toArray()).map((entry) => entry.name);
    expect(after).not.toContain('listed_b');
    expect(await db.collection('listed_b').countDocuments()).toBe(0);
    const databases = await db.admin().listDatabases();
    expect(databases.databases.map((entry) => entry.name)).toContain(dbName);
  });

  it('applies unacknowledged (w: 0) writes', async () => {
    const fireAndForget = db.collection<Keyed<number>>('unacknowledged');
    await fireAndForget.insertMany(
      Array.from({ length: 5 }, (_, i) => ({ _id: i })),
      { writeConcern: { w: 0 } },
    );
    // No reply means no completion signal: poll (up to 10 s on a busy machine) until they are applied.
    let count = 0;
    for (let attempt = 0; attempt < 500 && count < 5; attempt += 1) {
      count = await fireAndForget.countDocuments();
      if (count < 5) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(count).toBe(5);
  });

  it('answers an unknown command with CommandNotFound (59)', async () => {
    const error = await db.command({ noSuchCommandHere: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(59);
    expect((error as MongoServerError).message).toContain("no such command: 'noSuchCommandHere'");
  });

  it('reports bad queries as command errors instead of failing the connection', async () => {
    await db.collection('bad').insertOne({ a: 1 });
    const error = await db
      .collection('bad')
      .find({ a: { $notAnOperator: 1 } })
      .toArray()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(2);
    expect((error as MongoServerError).message).toContain('$notAnOperator');
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });
});

/**
 * A real server's URI with credentials (RX_TEST_MONGODB_URI=mongodb+srv://user:password@...): the
 * authentication tests then check the local server's answers against that server's.
 */
const externalWithCredentials = externalUri && new URL(externalUri).username ? externalUri : undefined;

describe.skipIf(externalUri !== undefined && externalWithCredentials === undefined)(
  'authentication, SCRAM-SHA-256 (with RX_TEST_MONGODB_URI, only when it carries a user and password)',
  () => {
    const localUser = { username: 'rx-writer', password: `p@ss:/${randomBytes(9).toString('base64url')}` };
    let secured: LocalMongo | undefined;
    /** The URI that logs in: the real server's, or the local one's with a password that needs escaping. */
    let base: URL;
    const withCredentials = (username: string, password: string, query = '') => {
      const url = new URL(base);
      url.username = encodeURIComponent(username);
      url.password = encodeURIComponent(password);
      for (const [name, value] of new URLSearchParams(query)) url.searchParams.set(name, value);
      return url.toString();
    };
    const username = () => decodeURIComponent(base.username);
    const password = () => decodeURIComponent(base.password);
    const open = (target: string) => new MongoClient(target, { serverSelectionTimeoutMS: 5000 });
    const local = it.skipIf(externalUri !== undefined);
    // Its own database: on a real server the main suite's is still in use.
    const authDb = `${dbName}_auth`;

    beforeAll(async () => {
      if (!externalWithCredentials) {
        secured = await startLocalMongo({ users: [localUser] });
        base = new URL(secured.uri);
        base.username = encodeURIComponent(localUser.username);
        base.password = encodeURIComponent(localUser.password);
      } else base = new URL(externalWithCredentials);
    });
    afterAll(async () => {
      await secured?.close();
    });

    it('lets the right password read and write with the driver defaults (SCRAM-SHA-256 started in the handshake)', async () => {
      const client = open(base.toString());
      try {
        const events = client.db(authDb).collection<Keyed<string>>('auth_events');
        await events.insertOne({ _id: 'auth-1', kind: 'view' });
        expect(await events.findOne({ _id: 'auth-1' })).toEqual({ _id: 'auth-1', kind: 'view' });
        const status = await client.db('admin').command({ connectionStatus: 1 });
        expect(status.authInfo.authenticatedUsers).toEqual([{ user: username(), db: 'admin' }]);
      } finally {
        await client.db(authDb).dropDatabase();
        await client.close();
      }
    });

    it('runs the plain saslStart / saslContinue exchange when the mechanism is named', async () => {
      const client = open(
        withCredentials(username(), password(), 'authMechanism=SCRAM-SHA-256&authSource=admin'),
      );
      try {
        expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
        const status = await client.db('admin').command({ connectionStatus: 1 });
        expect(status.authInfo.authenticatedUsers).toEqual([{ user: username(), db: 'admin' }]);
      } finally {
        await client.close();
      }
    });

    it('refuses a wrong password or an unknown user with AuthenticationFailed (18), writing nothing', async () => {
      for (const [user, secret] of [
        [username(), `${password()}x`],
        [`nobody-${randomBytes(4).toString('hex')}`, password()],
      ] as const) {
        const client = open(withCredentials(user, secret));
        try {
          const error = await client
            .db(authDb)
            .collection<Keyed<string>>('auth_events')
            .insertOne({ _id: `refused-${user}` })
            .catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(MongoServerError);
          expect((error as MongoServerError).code).toBe(18);
          expect((error as MongoServerError).message).toBe('Authentication failed.');
        } finally {
          await client.close();
        }
      }
      const client = open(base.toString());
      try {
        expect(await client.db(authDb).collection<Keyed<string>>('auth_events').countDocuments()).toBe(0);
      } finally {
        await client.close();
      }
    });

    it('answers only the handshake without credentials: anything else is Unauthorized (13)', async () => {
      const anonymous = new URL(base);
      anonymous.username = '';
      anonymous.password = '';
      const client = open(anonymous.toString());
      try {
        expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
        const error = await client
          .db(authDb)
          .collection('auth_events')
          .findOne({})
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(MongoServerError);
        expect((error as MongoServerError).code).toBe(13);
      } finally {
        await client.close();
      }
    });

    local('offers SCRAM-SHA-256 only (MongoDB offers SCRAM-SHA-1 too)', async () => {
      const client = open(withCredentials(username(), password(), 'authMechanism=SCRAM-SHA-1'));
      try {
        const error = await client
          .db('admin')
          .command({ ping: 1 })
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(MongoServerError);
        expect((error as MongoServerError).code).toBe(334);
      } finally {
        await client.close();
      }
    });

    local('refuses, at start, users it could never authenticate', async () => {
      await expect(startLocalMongo({ users: [{ username: 'u', password: 'pässword' }] })).rejects.toThrow(
        /password of user "u" must be printable ASCII/,
      );
      await expect(
        startLocalMongo({
          users: [
            { username: 'u', password: 'a' },
            { username: 'u', password: 'b' },
          ],
        }),
      ).rejects.toThrow(/user "u" given twice/);
    });
  },
);

describe.skipIf(externalUri !== undefined)(
  'local server only (skipped when RX_TEST_MONGODB_URI is set: these restart or pause the local server)',
  () => {
    it('keeps data, types and unique indexes across a restart with the same dataDir', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-mongo-persist-'));
      try {
        const first = await startLocalMongo({ dataDir });
        const firstClient = new MongoClient(first.uri, { serverSelectionTimeoutMS: 3000 });
        const events = firstClient.db('rx').collection<Keyed<string>>('events');
        const when = new Date('2025-01-02T03:04:05.006Z');
        await events.createIndex({ order_id: 1 }, { unique: true, sparse: true });
        await events.insertMany([
          { _id: 'e1', when, order_id: 'o1' },
          { _id: 'e2', when },
          { _id: 'e3', ref: new ObjectId('65a0b0c0d0e0f00112233445') },
        ]);
        await events.updateOne({ _id: 'e2' }, { $set: { seen: 2 } });
        await events.deleteOne({ _id: 'e3' });
        await firstClient.db('rx').collection('scratch').insertOne({ temporary: true });
        await firstClient.db('rx').collection('scratch').drop();
        await firstClient.db('gone').collection('c').insertOne({ x: 1 });
        await firstClient.db('gone').dropDatabase();
        await firstClient.close();
        await first.close();

        const second = await startLocalMongo({ dataDir });
        const secondClient = new MongoClient(second.uri, { serverSelectionTimeoutMS: 3000 });
        try {
          const reopened = secondClient.db('rx').collection<Keyed<string>>('events');
          expect(await reopened.find().sort({ _id: 1 }).toArray()).toEqual([
            { _id: 'e1', when, order_id: 'o1' },
            { _id: 'e2', when, seen: 2 },
          ]);
          const duplicate = await reopened
            .insertOne({ _id: 'e4', order_id: 'o1' })
            .catch((caught: unknown) => caught);
          expect((duplicate as MongoServerError).code).toBe(11000);
          expect(
            (await secondClient.db('rx').listCollections().toArray()).map((entry) => entry.name),
          ).toEqual(['events']);
          const databases = await secondClient.db('admin').admin().listDatabases({ nameOnly: true });
          expect(databases.databases.map((entry) => entry.name)).toEqual(['rx']);
        } finally {
          await secondClient.close();
          await second.close();
        }
        expect(fs.existsSync(dataDir)).toBe(true);
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('answers a batch the full disk refused with an error and keeps none of it, so the retry stores each once', async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-mongo-disk-full-'));
      const realWriteSync = fs.writeSync;
      try {
        const first = await startLocalMongo({ dataDir });
        const firstClient = new MongoClient(first.uri, { serverSelectionTimeoutMS: 3000 });
        const events = firstClient.db('rx').collection<Keyed<string>>('events');
        await events.insertOne({ _id: 'm0' });
        // The next log write (a line of base64 BSON, starting `B`) finds the disk full.
        let full = true;
        const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((
          fd: number,
          data: unknown,
          ...rest: unknown[]
        ) => {
          const isLog =
            typeof data === 'string' ? data.startsWith('B') : Buffer.isBuffer(data) && data[0] === 0x42;
          if (full && isLog) {
            full = false;
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          }
          // biome-ignore lint/suspicious/noExplicitAny: passes the caller's overload through unchanged
          return (realWriteSync as any)(fd, data, ...rest);
        }) as typeof fs.writeSync);
        const batch = [{ _id: 'm1' }, { _id: 'm2' }, { _id: 'm3' }];
        try {
          const refused = await events
            .insertMany(batch, { ordered: false })
            .catch((caught: unknown) => caught);
          expect(refused).toBeInstanceOf(MongoServerError);
          expect(refused).toMatchObject({ code: 14031, codeName: 'OutOfDiskSpace' });
          expect(await events.countDocuments()).toBe(1);
          // The consumer's retry: stored, not three duplicates (11000) of documents never written.
          expect((await events.insertMany(batch, { ordered: false })).insertedCount).toBe(3);
        } finally {
          spy.mockRestore();
          await firstClient.close();
          await first.close();
        }

        const second = await startLocalMongo({ dataDir });
        const secondClient = new MongoClient(second.uri, { serverSelectionTimeoutMS: 3000 });
        try {
          const reopened = secondClient.db('rx').collection<Keyed<string>>('events');
          expect((await reopened.find().toArray()).map((doc) => doc._id)).toEqual(['m0', 'm1', 'm2', 'm3']);
        } finally {
          await secondClient.close();
          await second.close();
        }
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('is unreachable while paused and serves again on the same port after resume', async () => {
      const local = await startLocalMongo();
      const faultClient = new MongoClient(local.uri, { serverSelectionTimeoutMS: 1500 });
      try {
        const events = faultClient.db('rx').collection<Keyed<string>>('events');
        await events.insertOne({ _id: 'before' });
        await local.pause();
        const duringOutage = await events.insertOne({ _id: 'during' }).catch((caught: unknown) => caught);
        expect(duringOutage).toBeInstanceOf(Error);
        const refused = await new Promise<boolean>((resolve) => {
          const socket = net.connect(local.port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(false);
          });
          socket.once('error', () => resolve(true));
        });
        expect(refused).toBe(true);

        await local.resume();
        await events.insertOne({ _id: 'after' });
        const freshClient = new MongoClient(local.uri, { serverSelectionTimeoutMS: 3000 });
        try {
          const ids = await freshClient.db('rx').collection('events').distinct('_id');
          expect(ids.sort()).toEqual(['after', 'before']);
        } finally {
          await freshClient.close();
        }
      } finally {
        await faultClient.close();
        await local.close();
      }
    });

    it('while stalled accepts connections and reads requests but answers none; resume answers them in order', async () => {
      const local = await startLocalMongo();
      const faultClient = new MongoClient(local.uri, { serverSelectionTimeoutMS: 1500 });
      try {
        const events = faultClient.db('rx').collection<Keyed<string>>('events');
        await events.insertOne({ _id: 'before' });
        await local.stall();
        const settled = { held: false };
        const held = events.insertOne({ _id: 'held' }).finally(() => {
          settled.held = true;
        });
        // A new client's handshake is not answered either: it cannot select the server.
        const fresh = new MongoClient(local.uri, { serverSelectionTimeoutMS: 500 });
        try {
          await expect(fresh.db('admin').command({ ping: 1 })).rejects.toThrow(/timed out/i);
        } finally {
          void fresh.close().catch(() => undefined);
        }
        // The listener is open: a hung server, not a refused connection.
        const accepted = await new Promise<boolean>((resolve) => {
          const socket = net.connect(local.port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        });
        expect(accepted).toBe(true);
        expect(settled.held).toBe(false);

        await local.resume();
        await held;
        await events.insertOne({ _id: 'after' });
        expect((await events.distinct('_id')).sort()).toEqual(['after', 'before', 'held']);
      } finally {
        await faultClient.close();
        await local.close();
      }
    });

    it('speaks TLS only when given a certificate: the driver connects verifying it, a plain client cannot, and pause/resume keep TLS', async () => {
      const local = await startLocalMongo({ tls: testTlsCredentials('localhost') });
      expect(local.uri).toBe(`mongodb://127.0.0.1:${local.port}/?tls=true`);
      const secure = new MongoClient(`${local.uri}&tlsCAFile=${encodeURIComponent(TEST_CA_FILE)}`, {
        serverSelectionTimeoutMS: 3000,
      });
      const plain = new MongoClient(`mongodb://127.0.0.1:${local.port}`, { serverSelectionTimeoutMS: 1500 });
      try {
        const events = secure.db('rx').collection<Keyed<string>>('events');
        await events.insertOne({ _id: 'over-tls' });
        await expect(plain.db('rx').command({ ping: 1 })).rejects.toThrow();
        await local.pause();
        await local.resume();
        expect(await events.distinct('_id')).toEqual(['over-tls']);
      } finally {
        await plain.close();
        await secure.close();
        await local.close();
      }
    });

    it('names the port when it is already taken', async () => {
      const local = await startLocalMongo();
      try {
        await expect(startLocalMongo({ port: local.port })).rejects.toThrow(
          new RegExp(`port ${local.port} .*already in use.*--port`),
        );
        // With the code kept, npm start names its own variable (RX_MONGO_PORT) instead.
        await expect(startLocalMongo({ port: local.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      } finally {
        await local.close();
      }
    });

    it('reads OP_MSG document sequences and checksums, and stays silent on moreToCome', async () => {
      const local = await startLocalMongo();
      try {
        const insertWithChecksum = opMsg(
          11,
          0x1,
          { insert: 'raw', ordered: false, $db: 'rawdb' },
          { id: 'documents', docs: [{ _id: 1 }, { _id: 1 }, { _id: 2 }] },
        );
        const reply = await exchange(local.port, insertWithChecksum);
        expect(reply.readInt32LE(8)).toBe(11);
        expect(BSON.deserialize(reply.subarray(21))).toMatchObject({
          n: 2,
          ok: 1,
          writeErrors: [{ index: 1, code: 11000 }],
        });

        const fireAndForget = opMsg(
          12,
          0x2,
          { insert: 'raw', $db: 'rawdb' },
          { id: 'documents', docs: [{ _id: 3 }] },
        );
        const count = opMsg(13, 0, { count: 'raw', $db: 'rawdb' });
        const countReply = await exchange(local.port, Buffer.concat([fireAndForget, count]));
        expect(countReply.readInt32LE(8)).toBe(13); // the first reply answers the count, not the insert
        expect(BSON.deserialize(countReply.subarray(21))).toMatchObject({ n: 3, ok: 1 });
      } finally {
        await local.close();
      }
    });

    it('survives malformed wire messages: error reply for bad BSON, disconnect for a bad frame', async () => {
      const local = await startLocalMongo();
      try {
        // A framed OP_MSG whose body claims more bytes than it has.
        const badBody = Buffer.alloc(16 + 4 + 1 + 8);
        badBody.writeInt32LE(badBody.length, 0);
        badBody.writeInt32LE(7, 4);
        badBody.writeInt32LE(2013, 12);
        badBody.writeInt32LE(1000, 21);
        const reply = await exchange(local.port, badBody);
        expect(reply.length).toBeGreaterThan(21);
        expect(reply.readInt32LE(8)).toBe(7); // responseTo
        const replyDoc = BSON.deserialize(reply.subarray(21));
        expect(replyDoc).toMatchObject({ ok: 0, code: 9 });

        // A header announcing an impossible length: the server hangs up.
        const badFrame = Buffer.alloc(16);
        badFrame.writeInt32LE(-5, 0);
        expect(await exchange(local.port, badFrame)).toHaveLength(0);

        const stillServing = new MongoClient(local.uri, { serverSelectionTimeoutMS: 3000 });
        try {
          expect(await stillServing.db('rx').command({ ping: 1 })).toMatchObject({ ok: 1 });
        } finally {
          await stillServing.close();
        }
      } finally {
        await local.close();
      }
    });
  },
);

/** An OP_MSG with a body, an optional document sequence and (when flag bit 0 is set) a dummy checksum. */
function opMsg(
  requestId: number,
  flags: number,
  body: Record<string, unknown>,
  sequence?: { id: string; docs: object[] },
): Buffer {
  const parts: Buffer[] = [Buffer.from([0]), Buffer.from(BSON.serialize(body))];
  if (sequence) {
    const docs = Buffer.concat(sequence.docs.map((doc) => Buffer.from(BSON.serialize(doc))));
    const name = Buffer.from(`${sequence.id}\0`, 'utf8');
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + name.length + docs.length);
    parts.push(Buffer.from([1]), size, name, docs);
  }
  if (flags & 0x1) parts.push(Buffer.alloc(4)); // CRC-32C, not verified by the server
  const header = Buffer.alloc(20);
  const message = Buffer.concat([header, ...parts]);
  message.writeInt32LE(message.length, 0);
  message.writeInt32LE(requestId, 4);
  message.writeInt32LE(2013, 12);
  message.writeUInt32LE(flags, 16);
  return message;
}

/** Sends raw bytes and collects everything the server writes back until it replies or hangs up. */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      if (received.length >= 4 && received.length >= received.readInt32LE(0)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}
