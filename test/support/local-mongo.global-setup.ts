/**
 * vitest globalSetup (one per worker project): the MongoDB the events tests write to. Starts the local
 * MongoDB-compatible server unless `RX_TEST_MONGODB_URI` points at a real MongoDB (test-mongo.ts;
 * then the run writes into a database of its own, dropped at teardown), with authentication
 * required, as on Atlas: the worker and the tests connect as a user with a password, so the
 * driver's SCRAM-SHA-256 runs in workerd on every events test. Also starts a loopback control
 * endpoint so tests in workerd can simulate an outage (`POST {mongoControlUrl}/pause` and `/resume`).
 * Hands `mongoUri` (with a real MongoDB, its URI with the run's database as its path), `mongoDb`
 * (`rx` on the local server) and `mongoControlUrl` ('' with a real MongoDB) to the tests (`inject`) and to the worker's bindings (test/support/worker-project.ts). The
 * local server speaks TLS only, as Atlas does, with a certificate of the test CA that the tests'
 * workerd trusts (trust-test-ca.ts): every events test goes through the driver's TLS in workerd, with
 * the certificate verified. `mongoUntrustedTlsUri` is a second, empty server whose certificate no one
 * vouches for (test/fixtures/tls/README.md), which the worker must refuse ('' with a real MongoDB). The
 * consumer's Redis side effects use the local Upstash server (on redis-server) of
 * edge-api.global-setup.ts (`inject('edgeApi').upstash`).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { type LocalMongo, startLocalMongo } from '../../scripts/local-mongo/index';
import { dropTestDatabase, realTestMongoUri, testDatabaseName, withDatabase } from './test-mongo';
import { testTlsCredentials } from './trust-test-ca';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoDb: string;
    mongoControlUrl: string;
    mongoUntrustedTlsUri: string;
  }
}

/** `mongodb://user:password@host:port/?tls=true&authSource=admin` from the server's URI. */
function withCredentials(uri: string, user: { username: string; password: string }): string {
  const url = new URL(uri);
  url.username = encodeURIComponent(user.username);
  url.password = encodeURIComponent(user.password);
  url.pathname = '/';
  url.searchParams.set('authSource', 'admin');
  return url.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const realUri = realTestMongoUri();
  const database = realUri ? testDatabaseName() : 'rx';
  const user = { username: 'rx-consumer', password: randomBytes(18).toString('base64url') };
  const tls = testTlsCredentials('localhost');
  const untrustedTls = testTlsCredentials('untrusted');
  const mongo = realUri ? undefined : await startLocalMongo({ users: [user], tls });
  const untrusted = realUri ? undefined : await startLocalMongo({ users: [user], tls: untrustedTls });
  const control = mongo ? await startControl(mongo) : undefined;
  // A real MongoDB's URI with the run's database as its path: the worker writes to the path's
  // database before MONGODB_DB (contracts/mongodb-uri.ts), and the tests read `mongoDb`.
  project.provide(
    'mongoUri',
    realUri ? withDatabase(realUri, database) : mongo ? withCredentials(mongo.uri, user) : '',
  );
  project.provide('mongoDb', database);
  project.provide('mongoControlUrl', control?.url ?? '');
  project.provide('mongoUntrustedTlsUri', untrusted ? withCredentials(untrusted.uri, user) : '');
  return async () => {
    await control?.close();
    await mongo?.close();
    await untrusted?.close();
    if (realUri) await dropTestDatabase(realUri, database);
  };
}

/** `POST /pause`, `POST /stall` and `POST /resume` on a free loopback port (LocalMongo's). */
async function startControl(mongo: LocalMongo): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const action = request.method === 'POST' ? request.url : undefined;
    const run =
      action === '/pause'
        ? mongo.pause()
        : action === '/stall'
          ? mongo.stall()
          : action === '/resume'
            ? mongo.resume()
            : undefined;
    if (run === undefined) {
      response.writeHead(404).end();
      return;
    }
    run.then(
      () => response.writeHead(204).end(),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
