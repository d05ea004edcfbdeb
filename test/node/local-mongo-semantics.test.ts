import { MongoClient, type MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFind, runPipeline } from '../../scripts/local-mongo/commands/query.ts';
import { type LocalMongo, startLocalMongo } from '../../scripts/local-mongo/index.ts';

/**
 * Choices the local MongoDB-compatible server makes where MongoDB's own answer depends on its version or
 * query engine, pinned here against the local server only (local-mongo-fidelity.test.ts holds what every
 * MongoDB answers alike, and runs against a real one too):
 * - projections return fields in the input document's order, computed ones after: MongoDB's classic
 *   engine (all of MongoDB 7.0 from 7.0.17); 8.0's slot-based engine orders dotted paths by the
 *   projection instead (SERVER-70234). Both put `_id` first;
 * - what the command-field check leaves alone (the handshake), and the words of refusals the fidelity
 *   test checks by code only.
 */
let server: LocalMongo;
let client: MongoClient;

beforeAll(async () => {
  server = await startLocalMongo();
  client = new MongoClient(server.uri);
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await server?.close();
});

describe('projections keep the input document order', () => {
  const input = { _id: 7, z: 1, nested: { y: 1, x: 2, w: 3 }, a: 2, list: [{ q: 1, p: 2 }, 'scalar'] };

  it('in find, at every level, whatever order the projection names the fields in', () => {
    const [doc] = runFind([input], {
      filter: {},
      projection: { a: 1, 'nested.w': 1, 'nested.y': 1, 'list.p': 1, z: 1 },
    });
    expect(JSON.stringify(doc)).toBe(
      JSON.stringify({ _id: 7, z: 1, nested: { y: 1, w: 3 }, a: 2, list: [{ p: 2 }] }),
    );
  });

  it('in $project, with computed fields after the kept ones', () => {
    const [doc] = runPipeline(
      [input],
      [{ $project: { total: { $add: ['$z', '$a'] }, a: 1, z: 1 } }],
      () => [],
    );
    expect(Object.keys(doc ?? {})).toEqual(['_id', 'z', 'a', 'total']);
  });

  it('in an exclusion, and with a $slice beside kept fields, as stored', () => {
    const [excluded] = runFind([input], { filter: {}, projection: { nested: 0 } });
    expect(Object.keys(excluded ?? {})).toEqual(['_id', 'z', 'a', 'list']);
    const [sliced] = runFind([input], { filter: {}, projection: { list: { $slice: 1 }, a: 1, z: 1 } });
    expect(JSON.stringify(sliced)).toBe(JSON.stringify({ _id: 7, z: 1, a: 2, list: [{ q: 1, p: 2 }] }));
  });
});

describe('refusals', () => {
  it('leaves the handshake and diagnostic commands to the driver: their extra fields are not checked', async () => {
    const admin = client.db('admin');
    await expect(admin.command({ hello: 1, someFutureField: true })).resolves.toMatchObject({ ok: 1 });
    await expect(admin.command({ ping: 1, extra: 1 })).resolves.toMatchObject({ ok: 1 });
  });

  it('names the field and type of a $push, $addToSet or $pull on a value that is not an array', async () => {
    const lists = client.db('semantics').collection<{ _id: number; tags: unknown }>('lists');
    await lists.insertOne({ _id: 1, tags: 'one' });
    const refused = (update: object) =>
      lists.updateOne({ _id: 1 }, update).then(
        () => undefined,
        (error: MongoServerError) => [error.code, error.message],
      );
    expect(await refused({ $push: { tags: 'two' } })).toEqual([
      2,
      "The field 'tags' must be an array but is of type string in document {_id: 1}",
    ]);
    expect(await refused({ $addToSet: { tags: 'two' } })).toEqual([
      2,
      "Cannot apply $addToSet to non-array field. Field named 'tags' has non-array type string",
    ]);
    expect(await refused({ $pull: { tags: 'one' } })).toEqual([2, 'Cannot apply $pull to a non-array value']);
    expect(await lists.findOne({ _id: 1 })).toEqual({ _id: 1, tags: 'one' });
  });

  it('checks the statements of an update before running any: a bad second statement leaves the first unapplied', async () => {
    const db = client.db('semantics');
    await db.collection('batch').insertOne({ _id: 1 } as never);
    await expect(
      db.command({
        update: 'batch',
        updates: [
          { q: { _id: 1 }, u: { $set: { x: 1 } } },
          { q: 'not a filter', u: { $set: { x: 2 } } },
        ],
      }),
    ).rejects.toMatchObject({
      code: 14,
      message: "BSON field 'update.updates.q' is the wrong type 'string', expected type 'object'",
    });
    await expect(db.command({ delete: 'batch', deletes: [{ q: {}, limit: 5 }] })).rejects.toMatchObject({
      code: 9,
      message: 'The limit field in delete objects must be 0 or 1. Got 5',
    });
    expect(await db.collection('batch').findOne({ _id: 1 } as never)).toEqual({ _id: 1 });
  });

  it('refuses an unknown $type alias and an invalid type code (BadValue, 2)', () => {
    expect(() => runFind([{ _id: 1 }], { filter: { a: { $type: 'text' } } })).toThrow(
      'Unknown type name alias: text',
    );
    expect(() => runFind([{ _id: 1 }], { filter: { a: { $type: 42 } } })).toThrow(
      'Invalid numerical type code: 42',
    );
  });

  it('drops unknown index options with ignoreUnknownIndexOptions, as MongoDB does', async () => {
    const db = client.db('semantics');
    await db.command({
      createIndexes: 'opts',
      indexes: [{ key: { a: 1 }, name: 'a_1', bogus: 1 }],
      ignoreUnknownIndexOptions: true,
    });
    const indexes = await db.collection('opts').listIndexes().toArray();
    expect(indexes.find((index) => index.name === 'a_1')).toEqual({ v: 2, key: { a: 1 }, name: 'a_1' });
  });
});
