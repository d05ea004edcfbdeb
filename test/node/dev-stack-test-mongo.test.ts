/**
 * RX_TEST_MONGODB_URI (test/support/test-mongo.ts), the switch that runs the MongoDB tests against a
 * real server, when its URI names a database (`…/pathdb`): the worker writes to the database of its
 * URI's path before MONGODB_DB (contracts/mongodb-uri.ts), so the raw URI handed to the worker sent
 * the events to `pathdb` while the tests read, and dropped, their own `rx_test_…`. A local MongoDB
 * stands in for the real one here.
 */
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestProject } from 'vitest/node';
import { eventsDatabaseOf } from '../../contracts/mongodb-uri';
import { type LocalMongo, startLocalMongo } from '../../scripts/local-mongo/index';
import setupWorkerMongo from '../support/local-mongo.global-setup';
import { stackMongo, TEST_MONGODB_URI_VAR, withDatabase } from '../support/test-mongo';

const noTxt = () => undefined;

describe('withDatabase: the run database as the path, the login where it was', () => {
  it('keeps the original path as authSource when the URI has credentials and none', () => {
    expect(withDatabase('mongodb://u:p@h1:27017,h2:27017/pathdb?replicaSet=rs0', 'rx_test_1', noTxt)).toBe(
      'mongodb://u:p@h1:27017,h2:27017/rx_test_1?replicaSet=rs0&authSource=pathdb',
    );
    // No path: admin, the driver's default.
    expect(withDatabase('mongodb://u:p@h:27017/', 'rx_test_1', noTxt)).toBe(
      'mongodb://u:p@h:27017/rx_test_1?authSource=admin',
    );
    // An authSource given (in any case) is kept as it is.
    expect(withDatabase('mongodb://u:p@h/pathdb?authsource=users', 'rx_test_1', noTxt)).toBe(
      'mongodb://u:p@h/rx_test_1?authsource=users',
    );
    // Without credentials there is no login to keep.
    expect(withDatabase('mongodb://h:27017/pathdb?tls=true', 'rx_test_1', noTxt)).toBe(
      'mongodb://h:27017/rx_test_1?tls=true',
    );
    // Mechanisms that authenticate against $external whatever the path: an authSource would break them.
    expect(withDatabase('mongodb://u@h/pathdb?authMechanism=MONGODB-X509', 'rx_test_1', noTxt)).toBe(
      'mongodb://u@h/rx_test_1?authMechanism=MONGODB-X509',
    );
  });

  it("for mongodb+srv://, keeps the TXT record's authSource, which beats the path (Atlas: admin)", () => {
    const asked: string[] = [];
    const atlas = (host: string) => {
      asked.push(host);
      return 'admin';
    };
    expect(withDatabase('mongodb+srv://u:p@cluster0.example.net/shop?w=majority', 'rx_test_1', atlas)).toBe(
      'mongodb+srv://u:p@cluster0.example.net/rx_test_1?w=majority&authSource=admin',
    );
    expect(asked).toEqual(['cluster0.example.net']);
    // No record: the path was the auth database.
    expect(withDatabase('mongodb+srv://u:p@db.example.net/shop', 'rx_test_1', noTxt)).toBe(
      'mongodb+srv://u:p@db.example.net/rx_test_1?authSource=shop',
    );
  });
});

describe(`${TEST_MONGODB_URI_VAR} with a database in its path`, () => {
  let real: LocalMongo;
  const saved = process.env[TEST_MONGODB_URI_VAR];

  beforeAll(async () => {
    real = await startLocalMongo({ host: '127.0.0.1', port: 0 });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env[TEST_MONGODB_URI_VAR];
    else process.env[TEST_MONGODB_URI_VAR] = saved;
  });
  afterAll(async () => {
    await real?.close();
  });

  const databases = async () => {
    const client = new MongoClient(real.uri);
    try {
      return (await client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
    } finally {
      await client.close();
    }
  };

  it('stack tests: the worker writes into the run database the test reads, and that is dropped', async () => {
    process.env[TEST_MONGODB_URI_VAR] = `${real.uri}/pathdb`;
    const mongo = stackMongo();
    const { MONGODB_URI = '', MONGODB_DB } = mongo.workerVars;
    // Where the worker writes (the consumer's own rule): was `pathdb`.
    expect(eventsDatabaseOf(MONGODB_URI, MONGODB_DB)).toBe(mongo.database);
    expect(mongo.database).toMatch(/^rx_test_/);
    const reader = mongo.uri(undefined as never);
    expect(eventsDatabaseOf(reader, undefined)).toBe(mongo.database);
    const client = new MongoClient(MONGODB_URI);
    try {
      await client.db(eventsDatabaseOf(MONGODB_URI, MONGODB_DB)).collection('events').insertOne({ n: 1 });
    } finally {
      await client.close();
    }
    expect(await databases()).toContain(mongo.database);
    await mongo.drop();
    expect(await databases()).not.toContain(mongo.database);
    expect(await databases()).not.toContain('pathdb');
  });

  it('the worker projects: mongoUri sends the worker to mongoDb, which teardown drops', async () => {
    process.env[TEST_MONGODB_URI_VAR] = `${real.uri}/pathdb`;
    const provided: Record<string, string> = {};
    const project = {
      provide: (key: string, value: string) => {
        provided[key] = value;
      },
    } as unknown as TestProject;
    const teardown = await setupWorkerMongo(project);
    const { mongoUri = '', mongoDb = '' } = provided;
    expect(mongoDb).toMatch(/^rx_test_/);
    // worker-project.ts binds MONGODB_URI = mongoUri and MONGODB_DB = mongoDb: was `pathdb`.
    const written = eventsDatabaseOf(mongoUri, mongoDb);
    expect(written).toBe(mongoDb);
    expect(provided.mongoControlUrl).toBe('');
    const client = new MongoClient(mongoUri);
    try {
      await client.db(written).collection('events').insertOne({ n: 1 });
    } finally {
      await client.close();
    }
    await teardown();
    expect(await databases()).not.toContain(mongoDb);
    expect(await databases()).not.toContain('pathdb');
  });
});
