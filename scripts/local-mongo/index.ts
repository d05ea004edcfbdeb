import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type UserCredentials, UserRegistry } from './auth/index.ts';
import { DEFAULT_BLOCKING_SORT_BYTES } from './commands/plan.ts';
import { CursorRegistry } from './cursors.ts';
import { type TlsCredentials, WireServer } from './server.ts';
import { StorageEngine } from './storage/engine.ts';

/** Options of {@link startLocalMongo}. */
export interface LocalMongoOptions {
  /** Interface to bind; loopback by default. */
  host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Folder holding the data; default a fresh temporary folder, removed on close. */
  dataDir?: string;
  /**
   * Users (in `admin`) who may connect, authenticating with SCRAM-SHA-256. Given any, every command
   * but the handshake needs an authenticated connection, as on Atlas; none (the default): open.
   */
  users?: readonly UserCredentials[];
  /**
   * A certificate and key to serve TLS only (as Atlas does), for testing a client's TLS path; the URI
   * then carries `tls=true`. The client must trust the certificate's issuer. Default: plain TCP.
   */
  tls?: TlsCredentials;
  /**
   * Bytes a blocking (in-memory) sort may hold before the command fails with 292
   * QueryExceededMemoryLimitNoDiskUseAllowed, unless it passed `allowDiskUse: true`: MongoDB's 100 MiB
   * by default. A sort a hinted index gives takes none. Tests set it small to show a reader never
   * sorts in memory.
   */
  blockingSortBytes?: number;
  /**
   * Ignore `allowDiskUse`, as Atlas Free and Flex clusters do: a blocking sort over the limit fails
   * even with `allowDiskUse: true`. Default false.
   */
  ignoreAllowDiskUse?: boolean;
}

/** A running local MongoDB-compatible server. */
export interface LocalMongo {
  /**
   * Connection string for the official driver: `mongodb://127.0.0.1:PORT` (`…/?tls=true` with `tls`;
   * add `user:password@` when `users` are set).
   */
  uri: string;
  port: number;
  dataDir: string;
  /** Simulates an outage: closes the listener and drops every connection. Data stays. */
  pause(): Promise<void>;
  /**
   * Simulates a hung server: connections are accepted and what they send is read, but nothing is
   * answered (no reply, no error, no closed socket) until `resume()`, which then answers it in order.
   */
  stall(): Promise<void>;
  /** Ends an outage (listens again on the same port) or a stall (answers what was held). */
  resume(): Promise<void>;
  /** Stops the server and flushes data to disk (removing the data folder only if it was a default temp one). */
  close(): Promise<void>;
}

/**
 * Starts a MongoDB wire-protocol server that the official `mongodb` driver talks to
 * unchanged, with query and aggregation semantics from mingo and data persisted under
 * `dataDir`. See scripts/local-mongo/README.md for what it supports.
 */
export async function startLocalMongo(options: LocalMongoOptions = {}): Promise<LocalMongo> {
  const blockingSortBytes = options.blockingSortBytes ?? DEFAULT_BLOCKING_SORT_BYTES;
  if (!Number.isInteger(blockingSortBytes) || blockingSortBytes < 0) {
    throw new Error(
      `local-mongo: blockingSortBytes must be a whole number of bytes, got ${blockingSortBytes}`,
    );
  }
  const limits = { blockingSortBytes, ignoreAllowDiskUse: options.ignoreAllowDiskUse === true };
  const host = options.host ?? '127.0.0.1';
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'local-mongo-'));
  const users = new UserRegistry(options.users);
  const storage = StorageEngine.open(dataDir);
  const cursors = new CursorRegistry();
  const server = new WireServer(storage, cursors, users, host, options.port ?? 0, options.tls, limits);
  try {
    await server.listen();
  } catch (error) {
    cursors.close();
    storage.close();
    throw error;
  }
  const port = server.port;
  const uriHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;
  return {
    uri: `mongodb://${uriHost}:${port}${options.tls ? '/?tls=true' : ''}`,
    port,
    dataDir,
    pause: () => server.stop(),
    stall: async () => {
      if (closed) throw new Error('local-mongo: cannot stall a closed server');
      server.stall();
    },
    resume: async () => {
      if (closed) throw new Error('local-mongo: cannot resume a closed server');
      await server.listen();
      server.unstall();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await server.stop();
      cursors.close();
      storage.close();
      if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
