/**
 * The one switch that runs every MongoDB-touching test against a real MongoDB: `RX_TEST_MONGODB_URI`
 * (e.g. `mongodb+srv://user:password@cluster…/`). Unset, the tests use the local MongoDB-compatible
 * server (scripts/local-mongo), as always.
 *
 * A name of its own on purpose: `MONGODB_URI` is what `npm start` and the worker read, and a developer
 * who has it exported for their own cluster must not have the tests write into it. With the switch
 * set, each run writes into a database of its own (`rx_test_<time>_<random>`, never the worker's
 * `rx`, nor a database the switch's URI names in its path) and drops it when done: every URI handed
 * to a worker or a reader has that database as its path (`withDatabase`).
 *
 * Read by: test/support/local-mongo.global-setup.ts (worker project), test/node/local-mongo.test.ts,
 * the trainer's readers' tests (through `readerMongo()`), trainer-cli.test.ts and the tests that start
 * the local stack (through `stackMongo()`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { Stack } from '../../scripts/dev/stack';
import { startLocalMongo } from '../../scripts/local-mongo/index';

export const TEST_MONGODB_URI_VAR = 'RX_TEST_MONGODB_URI';

/** Prefix of every database a test run creates on a real MongoDB (and drops). */
const TEST_DB_PREFIX = 'rx_test_';

/** The real MongoDB to test against, or undefined for the local stand-in. */
export function realTestMongoUri(): string | undefined {
  return process.env[TEST_MONGODB_URI_VAR]?.trim() || undefined;
}

/** A database name unique to this run (MongoDB allows 63 bytes; this is about 30). */
export function testDatabaseName(): string {
  return `${TEST_DB_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Drops a database this run created; refuses any other name, so a slip cannot drop real data. */
export async function dropTestDatabase(uri: string, name: string): Promise<void> {
  if (!name.startsWith(TEST_DB_PREFIX)) throw new Error(`refusing to drop "${name}": not a test database`);
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}

/** Mechanisms that never authenticate against a database of the URI (the driver ignores the path for them). */
const EXTERNAL_MECHANISMS = new Set(['GSSAPI', 'MONGODB-X509', 'MONGODB-AWS', 'MONGODB-OIDC']);

/**
 * The `authSource` a `mongodb+srv://` host's TXT record sets, or undefined (no record, none in it, or no
 * answer). The driver looks the record up when it connects; this asks the same question, synchronously
 * (a child process: Node has no synchronous DNS), because stackMongo() is called at a test file's top.
 */
const txtAuthSources = new Map<string, string | undefined>();

export function txtAuthSource(host: string): string | undefined {
  if (txtAuthSources.has(host)) return txtAuthSources.get(host);
  const script = `require('node:dns').promises.resolveTxt(process.argv[1]).then(
    (records) => process.stdout.write(records.map((parts) => parts.join('')).join('&')),
    () => {})`;
  try {
    const text = execFileSync(process.execPath, ['-e', script, host], { encoding: 'utf8', timeout: 15_000 });
    const source = new URLSearchParams(text).get('authSource') || undefined;
    txtAuthSources.set(host, source);
    return source;
  } catch {
    return undefined;
  }
}

/**
 * `uri` with `database` as its path: the worker (contracts/mongodb-uri.ts) and the trainer's readers
 * take the database from the path before MONGODB_DB, so a switch URI naming a database of its own
 * (`…/shop`) must not reach them as it is. The path also names the database a user authenticates
 * against when `authSource` is absent, so with credentials the one the driver used before is kept as
 * `authSource`: the TXT record's for `mongodb+srv://` (which beats the path; Atlas says `admin`), else
 * the original path, else `admin` (the driver's default). String surgery, not URL: a host list
 * (`h1:27017,h2:27017`) is not a valid URL authority. `lookupTxt` is for tests.
 */
export function withDatabase(
  uri: string,
  database: string,
  lookupTxt: (host: string) => string | undefined = txtAuthSource,
): string {
  const match = /^(mongodb(\+srv)?:\/\/([^/?]*))(?:\/([^?]*))?(?:\?(.*))?$/.exec(uri);
  if (!match) throw new Error('not a mongodb:// or mongodb+srv:// connection string');
  const [, base = '', srv, authority = '', path, query] = match;
  const params = new URLSearchParams(query ?? '');
  const at = authority.lastIndexOf('@');
  const mechanism = [...params].find(([key]) => key.toLowerCase() === 'authmechanism')?.[1] ?? '';
  const hasAuthSource = [...params.keys()].some((key) => key.toLowerCase() === 'authsource');
  if (at >= 0 && !hasAuthSource && !EXTERNAL_MECHANISMS.has(mechanism.toUpperCase())) {
    const fromTxt = srv ? lookupTxt(authority.slice(at + 1)) : undefined;
    let fromPath = path ?? '';
    try {
      fromPath = decodeURIComponent(fromPath);
    } catch {
      // Left as written: the driver would refuse it anyway.
    }
    params.set('authSource', fromTxt ?? (fromPath || 'admin'));
  }
  const search = params.toString();
  return `${base}/${database}${search ? `?${search}` : ''}`;
}

/** Where a stack test's worker writes events, and how that test reads them. */
export interface StackMongo {
  /** To spread into `startStack`'s `workerVars`: the real MongoDB and a fresh database, or nothing. */
  workerVars: Record<string, string>;
  /** The database the worker writes into. */
  database: string;
  /** The URI to read it with, once the stack is up. */
  uri(stack: Stack): string;
  /** Drops the run's database on a real MongoDB (after the stack stopped); nothing for the stand-in. */
  drop(): Promise<void>;
}

/**
 * For tests of the local stack: `startStack` starts its own local MongoDB unless `workerVars` carries
 * `MONGODB_URI`, and reads nothing from the environment itself; with the switch set, this hands it
 * the real MongoDB and the run's own database.
 */
export function stackMongo(): StackMongo {
  const real = realTestMongoUri();
  if (!real) {
    return {
      workerVars: {},
      database: 'rx', // wrangler.toml's MONGODB_DB, in the stack's own throwaway server
      uri(stack) {
        if (!stack.mongo)
          throw new Error(
            'the stack started no local MongoDB: startStack skips it when its workerVars carry MONGODB_URI',
          );
        return stack.mongo.uri;
      },
      drop: async () => {},
    };
  }
  const database = testDatabaseName();
  // The database in the path too: the worker writes to the path's database before MONGODB_DB.
  const uri = withDatabase(real, database);
  return {
    workerVars: { MONGODB_URI: uri, MONGODB_DB: database },
    database,
    uri: () => uri,
    drop: () => dropTestDatabase(real, database),
  };
}

/** A MongoDB for a reader's tests in Node: where they write and read, and how to clean up. */
export interface ReaderMongo {
  /** The server, without a database in its path. */
  serverUri: string;
  /** The tests' database: `localDatabase` on the local stand-in, one of this run's own on a real server. */
  database: string;
  /** `serverUri` with `database` as its path, as the readers take it. */
  uri: string;
  /** Drops the run's database on a real server; stops the local stand-in. */
  close(): Promise<void>;
}

/**
 * The real MongoDB when RX_TEST_MONGODB_URI is set, else a local MongoDB-compatible server started for
 * the calling test file (call in `beforeAll`, `close` in `afterAll`).
 */
export async function readerMongo(localDatabase: string): Promise<ReaderMongo> {
  const real = realTestMongoUri();
  const local = real ? undefined : await startLocalMongo({ host: '127.0.0.1', port: 0 });
  const serverUri = real ?? local?.uri ?? '';
  const database = real ? testDatabaseName() : localDatabase;
  return {
    serverUri,
    database,
    uri: withDatabase(serverUri, database),
    async close() {
      if (real) await dropTestDatabase(real, database);
      await local?.close();
    },
  };
}
