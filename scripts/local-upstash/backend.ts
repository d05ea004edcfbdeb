/**
 * The contract between the HTTP layer and the stores that execute Redis commands.
 * Two implementations: `redis-backend.ts` (forwards to a real redis-server) and
 * `memory-backend.ts` (the fallback when no redis-server exists).
 */

/** One Redis command: name first, then its arguments, all as text (as Upstash's JSON bodies carry them). */
export type RedisCommand = readonly [string, ...string[]];

/**
 * A Redis reply. Bulk and status strings are bytes (`Buffer`) so values stay binary safe; integers are
 * numbers; nil is `null`; multi-bulk replies are arrays.
 */
export type RedisReply = null | number | Buffer | RedisReply[];

/** The outcome of one command inside a pipeline or transaction. */
export type CommandOutcome = { ok: true; reply: RedisReply } | { ok: false; error: string };

/**
 * An error the Redis server itself answered (`ERR ...`, `WRONGTYPE ...`). The HTTP layer turns it into
 * `400 {"error": message}`, the way Upstash does; any other thrown error means the backend failed (500).
 */
export class RedisCommandError extends Error {
  override readonly name = 'RedisCommandError';
}

/**
 * A transaction that was not executed at all because some commands were refused before EXEC
 * (unknown command, wrong arity, not allowed over REST). `causes` holds those refusals in order.
 */
export class TransactionAbortedError extends RedisCommandError {
  constructor(readonly causes: readonly string[]) {
    super(
      `EXECABORT Transaction discarded because of previous errors${causes.length > 0 ? `: ${causes.join('; ')}` : '.'}`,
    );
  }
}

/** What the HTTP layer needs from a store. */
export interface CommandBackend {
  /** Runs one command; throws `RedisCommandError` for a Redis error reply. */
  execute(command: RedisCommand): Promise<RedisReply>;
  /** Runs commands in order, not atomically; one failing command does not stop the others. */
  pipeline(commands: readonly RedisCommand[]): Promise<CommandOutcome[]>;
  /**
   * Runs commands atomically (MULTI/EXEC). Runtime errors (e.g. WRONGTYPE) are per-command outcomes;
   * commands refused before execution abort the whole transaction with `TransactionAbortedError`.
   */
  transaction(commands: readonly RedisCommand[]): Promise<CommandOutcome[]>;
  /** Releases connections and child processes. */
  close(): Promise<void>;
}

/**
 * Commands that would change the state of a shared connection (subscriptions, MULTI, SELECT, ...) or
 * block it for every other request. Upstash does not offer them over REST either.
 */
const COMMANDS_NOT_ALLOWED_OVER_REST = new Set([
  'AUTH',
  'BLMOVE',
  'BLMPOP',
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BZMPOP',
  'BZPOPMAX',
  'BZPOPMIN',
  'CLIENT',
  'DISCARD',
  'EXEC',
  'HELLO',
  'MONITOR',
  'MULTI',
  'PSUBSCRIBE',
  'PUNSUBSCRIBE',
  'QUIT',
  'RESET',
  'SELECT',
  'SHUTDOWN',
  'SSUBSCRIBE',
  'SUBSCRIBE',
  'SUNSUBSCRIBE',
  'SYNC',
  'PSYNC',
  'UNSUBSCRIBE',
  'UNWATCH',
  'WAIT',
  'WAITAOF',
  'WATCH',
]);

/** The refusal message for a command that cannot run over REST, or `undefined` when it can. */
export function refusalOverRest(command: RedisCommand): string | undefined {
  const name = command[0].toUpperCase();
  if (COMMANDS_NOT_ALLOWED_OVER_REST.has(name)) {
    return `ERR Command is not available over the REST API: '${command[0]}'`;
  }
  if ((name === 'XREAD' || name === 'XREADGROUP') && command.some((arg) => arg.toUpperCase() === 'BLOCK')) {
    return `ERR Blocking '${command[0]}' is not available over the REST API`;
  }
  return undefined;
}
