/**
 * The mongodb reader against the project's local MongoDB-compatible server, via the official driver,
 * or against a real MongoDB when RX_TEST_MONGODB_URI is set (test/support/test-mongo.ts: then in a
 * database of this run's own, dropped afterwards).
 */
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventDocument, toEventDocument } from '../../contracts/event-document';
import type { StoredEvent } from '../../contracts/events';
import { databaseOfUri } from '../../contracts/mongodb-uri';
import { startLocalMongo } from '../../scripts/local-mongo/index';
import { type SortRefusingMongo, sortRefusingMongo } from '../../test/support/consumer-indexes';
import { type ReaderMongo, readerMongo, realTestMongoUri, withDatabase } from '../../test/support/test-mongo';
import { EVENTS_READ } from './event-weights';
import { anonymousUserKey } from './identities';
import { InputError } from './lines';
import { authSourceHint, connectionClient, mongodbSource, READ_SILENCE_MS } from './mongodb';
import { readAll } from './sources';

/** The server the test reads: the real MongoDB, or a local one started for this file. */
let mongo: ReaderMongo;
let serverUri: string;
let database: string;

const stored = (id: string, event: string, productId: string, minute: number): StoredEvent => ({
  type: 'track',
  event,
  messageId: id,
  anonymousId: 'anon-1',
  timestamp: `2024-05-01T10:${String(minute).padStart(2, '0')}:00.000Z`,
  receivedAt: '2024-05-01T10:30:00.000Z',
  site: 'shop-1',
  bucket: 'treatment',
  model_version: null,
  properties: { product_id: productId },
});

beforeAll(async () => {
  mongo = await readerMongo('rxtest');
  ({ serverUri, database } = mongo);
  const client = new MongoClient(serverUri);
  await client.connect();
  await client
    .db(database)
    .collection<EventDocument>('events')
    .insertMany([
      toEventDocument(stored('m2', 'Product Added', 'P2', 2)),
      toEventDocument(stored('m1', 'Product Viewed', 'P1', 1)),
      toEventDocument(stored('m3', 'Products Searched', 'P9', 3)),
    ]);
  await client.close();
});

afterAll(async () => {
  await mongo?.close();
});

describe('mongodb reader', () => {
  it('streams product events in time order through the aggregation pipeline', async () => {
    const source = mongodbSource(withDatabase(serverUri, database));
    const rows = await readAll(source);
    expect(rows.map((r) => [r.user, r.item, r.weight, r.store])).toEqual([
      [anonymousUserKey('anon-1'), 'P1', 1, 'shop-1'],
      [anonymousUserKey('anon-1'), 'P2', 3, 'shop-1'],
    ]);
  });

  it("reads identify events too: a browser's activity from before sign-in joins its shopper's", async () => {
    const events: StoredEvent[] = [
      { ...stored('s1', 'Product Viewed', 'P1', 1), anonymousId: 'anon-2' },
      // rx.identify's event is the only one that links anon-2 to u-7.
      {
        ...stored('s2', 'Product Viewed', 'P0', 2),
        type: 'identify',
        event: undefined,
        anonymousId: 'anon-2',
        userId: 'u-7',
        properties: {},
      },
      { ...stored('s3', 'Product Viewed', 'P2', 3), anonymousId: 'anon-3' },
    ];
    const client = new MongoClient(serverUri);
    try {
      await client
        .db(database)
        .collection<EventDocument>('events_identities')
        .insertMany(events.map((event) => toEventDocument(event)));
    } finally {
      await client.close();
    }
    const source = mongodbSource(withDatabase(serverUri, database), 'events_identities');
    const rows = await readAll(source);
    expect(rows.map((r) => [r.user, r.item])).toEqual([
      ['u-7', 'P1'],
      [anonymousUserKey('anon-3'), 'P2'],
    ]);
    expect(source.report.notes.join('\n')).toMatch(/activity of 1 anonymous id\(s\) .* joined 1 signed-in/);
  });

  it('refuses something that is not a connection string', async () => {
    await expect(readAll(mongodbSource('/tmp/events.jsonl'))).rejects.toThrow(
      /mongodb:\/\/ or mongodb\+srv:\/\//,
    );
  });

  it('reads the database from any connection string, replica-set host lists included', () => {
    expect(databaseOfUri('mongodb://h1:27017,h2:27017/shop?replicaSet=rs0')).toBe('shop');
    expect(databaseOfUri('mongodb+srv://user:p%40ss@cluster0.example.net/rx-events?retryWrites=true')).toBe(
      'rx-events',
    );
    expect(databaseOfUri('mongodb://127.0.0.1:27017')).toBe('');
    expect(databaseOfUri('mongodb://127.0.0.1:27017/?w=majority')).toBe('');
  });

  it('never quotes a password in a connection-string error; an empty collection is named', async () => {
    // The driver's own message here is "Unable to parse s3cr:etpw with URL": the password's tail.
    const error = await readAll(mongodbSource('mongodb://rx:p@s3cr:etpw@127.0.0.1:1/shop')).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /--input is not a valid MongoDB connection string .*percent-encode/,
    );
    expect((error as Error).message).not.toMatch(/s3cr|etpw/);
    // With a `/` in it too, the driver took "ss" for the host: "getaddrinfo ENOTFOUND ss".
    const slashed = await readAll(mongodbSource('mongodb://rx:p@ss/w0rd@127.0.0.1:1/shop')).catch(
      (e: Error) => e,
    );
    expect((slashed as Error).message).toMatch(/not a valid MongoDB connection string .*percent-encode/);
    expect((slashed as Error).message).not.toMatch(/ENOTFOUND|\bss\b|w0rd/);
    await expect(readAll(mongodbSource(withDatabase(serverUri, `${database}-none`)))).rejects.toThrow(
      /collection .*-none\.events has no product events/,
    );
  });

  it('a server refusing the read (no user in the string) says what was read, in one line', async () => {
    const locked = await startLocalMongo({
      host: '127.0.0.1',
      port: 0,
      users: [{ username: 'rx', password: 'not-in-the-uri' }],
    });
    try {
      await expect(readAll(mongodbSource(`${locked.uri}/shop`))).rejects.toThrow(
        /^reading shop\.events from MongoDB failed after 0 events: .*requires authentication/,
      );
    } finally {
      await locked.close();
    }
  });

  it('a login refused for the database in the path hints at authSource, never quoting the password', async () => {
    // The stand-in, as MongoDB, defines users in `admin`: with `/shop` and no authSource the driver
    // authenticates against `shop`, and the server answers only "Authentication failed." (code 18).
    const locked = await startLocalMongo({
      host: '127.0.0.1',
      port: 0,
      users: [{ username: 'rx', password: 'pw-s3cret' }],
    });
    const at = (credentials: string, rest: string) =>
      locked.uri.replace('mongodb://', `mongodb://${credentials}@`) + rest;
    try {
      const error = await readAll(mongodbSource(at('rx:pw-s3cret', '/shop'))).catch((e: Error) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(
        /^cannot connect to MongoDB: Authentication failed\. \(the driver authenticated against database "shop", .* add \?authSource=admin to the connection string\)$/,
      );
      expect((error as Error).message).not.toMatch(/s3cret|rx:|127\.0\.0\.1/);
      // The hint's advice works: the same user logs in, and the reader gets as far as the collection.
      await expect(readAll(mongodbSource(at('rx:pw-s3cret', '/shop?authSource=admin')))).rejects.toThrow(
        /^collection shop\.events has no product events$/,
      );
      // With authSource given, a refusal is the password's (or the user's): no hint.
      await expect(readAll(mongodbSource(at('rx:wrong', '/shop?authSource=admin')))).rejects.toThrow(
        /^cannot connect to MongoDB: Authentication failed\.$/,
      );
    } finally {
      await locked.close();
    }
  });

  it('the authSource hint follows the driver error code and the auth database really used', () => {
    const refused = new MongoServerError({
      ok: 0,
      code: 18,
      codeName: 'AuthenticationFailed',
      errmsg: 'Authentication failed.',
    });
    expect(authSourceHint(refused, 'mongodb://rx:pw@h/shop?retryWrites=true')).toMatch(
      /database "shop", .*add &authSource=admin to the connection string\)$/,
    );
    // A mongodb+srv TXT record (Atlas: authSource=admin) overrode the path: the password is wrong.
    const atlas = { options: { credentials: { source: 'admin' } } };
    expect(authSourceHint(refused, 'mongodb+srv://rx:pw@c.example.net/shop', atlas)).toBe('');
    expect(
      authSourceHint(refused, 'mongodb://rx:pw@h/shop', { options: { credentials: { source: 'shop' } } }),
    ).not.toBe('');
    expect(authSourceHint(refused, 'mongodb://rx:pw@h/admin')).toBe('');
    expect(authSourceHint(refused, 'mongodb://rx:pw@h/')).toBe('');
    expect(authSourceHint(refused, 'mongodb://rx:pw@h/shop?authsource=shop')).toBe('');
    const unauthorized = new MongoServerError({ ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'x' });
    expect(authSourceHint(unauthorized, 'mongodb://rx:pw@h/shop')).toBe('');
  });
});

/**
 * Atlas Free and Flex clusters ignore allowDiskUse, so there a `$sort` that no index gives fails past
 * 100 MB (292). The local server is held to 1 KB here and ignores allowDiskUse too, so a read that sorts
 * in memory fails at once; against a real MongoDB (RX_TEST_MONGODB_URI) the same reads run with that
 * server's own limit, in databases of this run's own.
 */
describe('mongodb reader on a server that refuses to sort in memory', () => {
  const real = realTestMongoUri();
  let server: SortRefusingMongo;
  // Every kind of product event, stored out of time order (minute m of the hour), each with a name
  // that makes the events of one kind pass 1 KB; anon-0 signs in as u-0 at minute 21, anon-1 as u-1
  // (an identify event), anon-2 never does.
  const kinds = EVENTS_READ;
  const events: StoredEvent[] = [];
  for (let m = 0; m < 36; m++) {
    const minute = (m * 7) % 36;
    events.push({
      ...stored(`t${minute}`, kinds[minute % kinds.length] ?? 'Product Viewed', `P${minute}`, minute),
      anonymousId: `anon-${minute % 3}`,
      ...(minute === 21 ? { userId: 'u-0' } : {}),
      properties: {
        product_id: `P${minute}`,
        name: `A product with a long name, ${'x'.repeat(60)}`,
        order_id: `o${minute}`,
      },
    });
  }
  events.push({
    ...stored('id-1', 'Product Viewed', 'P0', 50),
    type: 'identify',
    event: undefined,
    anonymousId: 'anon-1',
    userId: 'u-1',
    properties: {},
  });

  beforeAll(async () => {
    server = await sortRefusingMongo(
      events.map((event) => toEventDocument(event)),
      { indexed: 'rxstrict', bare: 'rxstrict_bare' },
    );
  });

  afterAll(async () => {
    await server?.close();
  });

  it("reads in time order along the consumer's event_time index, with no sort in memory", async () => {
    const source = mongodbSource(withDatabase(server.base, server.indexed));
    const rows = await readAll(source);
    const owner = ['u-0', 'u-1', anonymousUserKey('anon-2')];
    expect(rows.map((r) => [r.user, r.item, r.time])).toEqual(
      Array.from({ length: 36 }, (_, minute) => [
        owner[minute % 3],
        `P${minute}`,
        Date.UTC(2024, 4, 1, 10, minute),
      ]),
    );
    expect(source.report.notes.join('\n')).not.toMatch(/no index/);
  });

  it.skipIf(real !== undefined)(
    'without that index the server sorts in memory and refuses: the error and the summary say why',
    async () => {
      const source = mongodbSource(withDatabase(server.base, server.bare));
      const refused = await readAll(source).catch((e: Error) => e);
      expect(refused).toBeInstanceOf(InputError);
      expect((refused as Error).message).toMatch(
        /^reading rxstrict_bare\.events from MongoDB failed after \d+ events: PlanExecutor error during aggregation :: caused by :: Sort exceeded memory limit of 1024 bytes, but did not opt in to external sorting\. \(MongoDB sorted in memory, past its limit, as no index gave the order: .*collections\.ts; Atlas Free and Flex clusters ignore allowDiskUse\)$/,
      );
      expect(source.report.notes.join('\n')).toMatch(
        /no index on \(event, timestamp\), such as the consumer's event_time/,
      );
    },
  );
});

describe('the reader never waits for ever on a silent server', () => {
  it('gives reads a socket timeout (READ_SILENCE_MS) unless the URI sets its own', async () => {
    const bounded = connectionClient('mongodb://127.0.0.1:1/rx');
    expect(bounded.options.socketTimeoutMS).toBe(READ_SILENCE_MS);
    const own = connectionClient('mongodb://127.0.0.1:1/rx?socketTimeoutMS=5000');
    expect(own.options.socketTimeoutMS).toBe(5000);
    await Promise.all([bounded.close(), own.close()]);
  });
});

describe('a password with an unescaped "@"', () => {
  it('is refused before connecting, never named as the host the driver could not find', () => {
    // The driver took what follows the password's "@" for the host: "getaddrinfo ENOTFOUND ssw0rd",
    // and for mongodb+srv "querySrv ENOTFOUND _mongodb._tcp.ssw0rd".
    for (const uri of [
      'mongodb://rx:p@ssw0rd@127.0.0.1:1/shop',
      'mongodb://rx:p@ssw0rd@127.0.0.1:1',
      'mongodb+srv://rx:p@ssw0rd@cluster0.example.net/shop?retryWrites=true',
    ]) {
      let message = '';
      try {
        connectionClient(uri);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/--input is not a valid MongoDB connection string .*percent-encode/);
      expect(message).not.toMatch(/ssw0rd/);
    }
  });
});
