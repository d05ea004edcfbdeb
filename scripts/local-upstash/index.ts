import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { CommandBackend } from './backend.ts';
import { createMemoryBackend } from './memory-backend.ts';
import { connectRedisBackend, describeTarget } from './redis-backend.ts';
import { acceptingUpstashScriptFlags } from './script-flags.ts';
import { createUpstashHttpServer } from './server.ts';
import { findOnPath, type SpawnedRedis, spawnRedisServer } from './spawn-redis.ts';

/** Options of {@link startLocalUpstash}. */
export interface LocalUpstashOptions {
  /** Interface to listen on; default `127.0.0.1` (loopback only). */
  host?: string;
  /** Port to listen on; `0` (the default) picks a free one. */
  port?: number;
  /** The bearer token clients must send; default: a random one. */
  token?: string;
  /**
   * `auto` (default): `redisUrl` if given, else a spawned redis-server when one is on PATH, else memory.
   * `redis-server`: spawn one and fail if it is missing. `memory`: the in-memory fallback.
   */
  backend?: 'auto' | 'redis-server' | 'memory';
  /** Forward to this existing Redis (`redis://[user:password@]host:port[/db]`) instead of spawning one. */
  redisUrl?: string;
}

/** A running local Upstash-compatible server. */
export interface LocalUpstash {
  /** Base URL for `new Redis({ url, token })` / `UPSTASH_REDIS_REST_URL`, e.g. `http://127.0.0.1:8079`. */
  url: string;
  /** Bearer token for `UPSTASH_REDIS_REST_TOKEN`. */
  token: string;
  /** What executes the commands. */
  backend: 'redis-server' | 'memory' | 'redis-url';
  /** Stops the HTTP server and the spawned redis-server, if any. */
  close(): Promise<void>;
  /**
   * Settles with a message if the redis-server this server spawned exits on its own (a crash, a kill)
   * before close(): from then on every command answers 500. Already logged; a program that runs this
   * server (npm start, the CLI) stops on it. Never settles for the `memory` and `redis-url` backends.
   */
  redisExited: Promise<string>;
}

/** Thrown when the requested port is taken; its message says which and how to choose another. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `port ${port} on ${host} is already in use; choose another with --port N (or port: 0 to pick a free one)`,
    );
  }
}

const MEMORY_NOTE =
  'commands are served by the IN-MEMORY FALLBACK (a subset of Redis: strings, lists, hashes, sets, sorted sets, ' +
  'expiry; data is lost on exit)';

/**
 * Starts an HTTP server that speaks the Upstash Redis REST protocol, so `@upstash/redis` works against
 * it unchanged, backed by a real Redis when one is available.
 */
export async function startLocalUpstash(options: LocalUpstashOptions = {}): Promise<LocalUpstash> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const token = options.token ?? randomBytes(24).toString('base64url');
  const log = (message: string) => console.error(message);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`port must be an integer from 0 to 65535, got ${port}`);
  }
  if (token === '') {
    throw new Error('token must not be empty');
  }

  const { backend, kind, redisExited } = await openBackend(options, log);
  const server = createUpstashHttpServer({ backend, token, log });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await backend.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(host, port);
    }
    throw error;
  }
  server.on('error', (error) => log(`local-upstash: server error: ${error.message}`));

  const address = server.address() as AddressInfo;
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    token,
    backend: kind,
    redisExited,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive connections from clients would otherwise hold close() open.
          server.closeAllConnections();
        });
        await backend.close();
      })();
      return closing;
    },
  };
}

async function openBackend(
  options: LocalUpstashOptions,
  log: (message: string) => void,
): Promise<{ backend: CommandBackend; kind: LocalUpstash['backend']; redisExited: Promise<string> }> {
  const never = new Promise<string>(() => {});
  const choice = options.backend ?? 'auto';
  if (options.redisUrl !== undefined && choice !== 'auto') {
    throw new Error(`redisUrl cannot be combined with backend: '${choice}'`);
  }
  if (options.redisUrl !== undefined) {
    const backend = await connectRedisBackend({ url: options.redisUrl }, log);
    log(`local-upstash: forwarding to ${describeTarget({ url: options.redisUrl })}`);
    return { backend: acceptingUpstashScriptFlags(backend), kind: 'redis-url', redisExited: never };
  }
  if (choice === 'memory') {
    log(`local-upstash: ${MEMORY_NOTE}, as requested.`);
    return { backend: createMemoryBackend(), kind: 'memory', redisExited: never };
  }
  if (choice === 'auto' && findOnPath('redis-server') === undefined) {
    log(
      `local-upstash: WARNING: redis-server was not found on PATH, so ${MEMORY_NOTE}. ` +
        'Install redis-server (e.g. `sudo apt-get install redis-server`) to forward to a real Redis.',
    );
    return { backend: createMemoryBackend(), kind: 'memory', redisExited: never };
  }
  const { backend, redisExited } = await spawnedRedisBackend(log);
  return { backend: acceptingUpstashScriptFlags(backend), kind: 'redis-server', redisExited };
}

/**
 * A redis-server child and the connection to it. Its exit after start-up is watched: a crash is said
 * once, plainly (`local-upstash: redis-server exited (signal SIGKILL) ...`), instead of only the
 * connection's retries failing; connection errors are not reported once it is gone or being stopped
 * (on Ctrl-C it goes before the connection is closed, and `connect ENOENT` then means nothing).
 */
async function spawnedRedisBackend(
  log: (message: string) => void,
): Promise<{ backend: CommandBackend; redisExited: Promise<string> }> {
  const redis: SpawnedRedis = await spawnRedisServer();
  let gone = false;
  const connectionLog = (message: string) => {
    if (!gone && !redis.stopping()) log(message);
  };
  let forwarding: CommandBackend;
  try {
    forwarding = await connectRedisBackend({ socketPath: redis.socketPath }, connectionLog);
  } catch (error) {
    await redis.stop();
    throw error;
  }
  const redisExited = redis.died.then((what) => {
    gone = true;
    const said = redis.recentOutput();
    const message =
      `${what}: every command answers 500 from now on, and what it held (a cache) is lost` +
      (said === '' ? '' : `. Its last lines:\n${said}`);
    log(`local-upstash: ${message}`);
    return message;
  });
  return {
    backend: {
      ...forwarding,
      async close() {
        await forwarding.close();
        await redis.stop();
      },
    },
    redisExited,
  };
}
