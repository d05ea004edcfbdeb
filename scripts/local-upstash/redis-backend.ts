import { createRequire } from 'node:module';
import type * as IoredisModule from 'ioredis';
import {
  type CommandBackend,
  type CommandOutcome,
  type RedisCommand,
  RedisCommandError,
  type RedisReply,
  refusalOverRest,
  TransactionAbortedError,
} from './backend.ts';

/**
 * ioredis loaded with Node's own `require`, not an ESM `import`. Its CommonJS entry sets `module.exports` to
 * the Redis class and defines `Redis`, `Command`, `ReplyError` as getters on it. When a Vite module runner
 * executes it instead of Node (a vitest project with `server.deps.inline = true`, which
 * @cloudflare/vitest-pool-workers forces, so its globalSetup runs this file that way), the ESM named
 * imports come out `undefined` ("Redis is not a constructor"). `require` gives the same object everywhere.
 */
const { Command, Redis, ReplyError } = createRequire(import.meta.url)('ioredis') as typeof IoredisModule;

/** Where the forwarding backend connects: a TCP URL (`redis://...`) or a unix socket path. */
export type RedisTarget = { url: string } | { socketPath: string };

/**
 * Forwards commands to a real Redis server over one ioredis connection.
 *
 * Commands are sent as raw `Command`s with the name upper-cased: ioredis keys its argument and reply
 * transformers (HGETALL → object, MSET/HSET object arguments) by the lower-case name, and we want the
 * untouched wire reply, as Upstash returns it. No `replyEncoding`, so bulk strings arrive as Buffers.
 */
export async function connectRedisBackend(
  target: RedisTarget,
  onBackgroundError: (message: string) => void,
): Promise<CommandBackend> {
  const client = new Redis({
    ...('url' in target ? parseRedisUrl(target.url) : { path: target.socketPath }),
    lazyConnect: true,
    // ioredis 6 speaks RESP3 by default (maps, doubles, pairs for WITHSCORES); Upstash answers RESP2 shapes.
    protocol: 2,
    // Fail fast while disconnected instead of queueing HTTP requests forever.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  let lastReported = '';
  let connected = false;
  client.on('error', (error: Error) => {
    // ioredis retries on its own; report each distinct failure once so a dead server does not flood logs.
    // Before the first connection the failure is reported by the rejected start instead.
    if (error.message !== lastReported) {
      lastReported = error.message;
      if (connected) onBackgroundError(`redis connection: ${error.message}`);
    }
  });
  client.on('ready', () => {
    lastReported = '';
  });
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    client.disconnect();
    const reason = lastReported !== '' ? lastReported : messageOf(error);
    throw new Error(`could not connect to Redis at ${describeTarget(target)}: ${reason}`, { cause: error });
  }

  const send = async (command: RedisCommand): Promise<RedisReply> => {
    const refusal = refusalOverRest(command);
    if (refusal !== undefined) {
      throw new RedisCommandError(refusal);
    }
    try {
      return toReply(await client.sendCommand(toIoredisCommand(command)));
    } catch (error) {
      throw asCommandError(error);
    }
  };

  return {
    execute: send,

    async pipeline(commands) {
      // All commands are written in order on the same connection in this tick, so Redis runs them in order.
      const settled = await Promise.allSettled(commands.map(send));
      return settled.map((outcome): CommandOutcome => {
        if (outcome.status === 'fulfilled') return { ok: true, reply: outcome.value };
        // A Redis error reply belongs to its command; a dead connection fails the whole request (500).
        if (outcome.reason instanceof RedisCommandError) return { ok: false, error: outcome.reason.message };
        throw outcome.reason;
      });
    },

    async transaction(commands) {
      const refusals = commands.map(refusalOverRest).filter((refusal) => refusal !== undefined);
      if (refusals.length > 0) {
        throw new TransactionAbortedError(refusals);
      }
      const multi = client.multi();
      for (const [name, ...args] of commands) {
        // Upper-case for the same reason as toIoredisCommand: no ioredis reply transformers.
        multi.callBuffer(name.toUpperCase(), ...args);
      }
      let results: [Error | null, unknown][] | null;
      try {
        results = await multi.exec();
      } catch (error) {
        throw asTransactionError(error);
      }
      if (results === null) {
        // Only WATCH can make EXEC return nil, and WATCH is refused above; treat it as a backend fault.
        throw new Error('EXEC returned nil');
      }
      return results.map(([error, reply]): CommandOutcome => {
        if (error !== null) {
          return { ok: false, error: error.message };
        }
        return { ok: true, reply: toReply(reply) };
      });
    },

    async close() {
      client.disconnect();
    },
  };
}

function toIoredisCommand(command: RedisCommand): IoredisModule.Command {
  const [name, ...args] = command;
  return new Command(name.toUpperCase(), args);
}

/** Checks the shape ioredis hands back; anything else would be a bug we want to see, not forward. */
function toReply(value: unknown): RedisReply {
  if (value === null || typeof value === 'number' || Buffer.isBuffer(value)) {
    return value;
  }
  if (typeof value === 'string') {
    return Buffer.from(value);
  }
  if (Array.isArray(value)) {
    return value.map(toReply);
  }
  throw new Error(`unexpected reply type from Redis: ${typeof value}`);
}

function asCommandError(error: unknown): Error {
  if (error instanceof RedisCommandError) {
    return error;
  }
  if (isReplyError(error)) {
    return new RedisCommandError(error.message);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** ioredis rejects EXEC with EXECABORT and lists the queue-time errors in `previousErrors`. */
function asTransactionError(error: unknown): Error {
  if (isReplyError(error) && error.message.startsWith('EXECABORT')) {
    const previous = (error as { previousErrors?: unknown }).previousErrors;
    const causes = Array.isArray(previous) ? previous.map(messageOf) : [];
    return new TransactionAbortedError(causes);
  }
  return asCommandError(error);
}

function isReplyError(error: unknown): error is Error {
  // ioredis types ReplyError as `any`; narrow it to a constructor before using instanceof.
  const replyErrorClass: unknown = ReplyError;
  return typeof replyErrorClass === 'function' && error instanceof replyErrorClass;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** ioredis accepts the URL itself; we parse only to refuse anything that is not redis:// or rediss://. */
function parseRedisUrl(url: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('redisUrl is not a valid URL (expected redis://[user:password@]host:port[/db])');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`redisUrl must start with redis:// or rediss://, got ${parsed.protocol}//`);
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) {
    throw new Error('redisUrl path must be a database number, e.g. redis://127.0.0.1:6379/0');
  }
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(db === undefined ? {} : { db }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** A printable name for the target, never including credentials. */
export function describeTarget(target: RedisTarget): string {
  if ('socketPath' in target) {
    return `unix:${target.socketPath}`;
  }
  try {
    const parsed = new URL(target.url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
