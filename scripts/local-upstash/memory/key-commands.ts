import { RedisCommandError, type RedisReply } from '../backend.ts';
import { bulk, integerArgument, OK, SYNTAX_ERROR } from './arguments.ts';
import type { CommandTable } from './command-spec.ts';
import { globMatch } from './glob.ts';
import { type Keyspace, redisTypeName } from './keyspace.ts';

/**
 * EXPIRE and friends. `options` are Redis 7's NX | XX | GT | LT, any number of them in any case, checked
 * before the time is read, with Redis's errors for combinations it refuses (NX with any other, GT with
 * LT). XX may go with GT or LT. A key without expiry counts as an infinite TTL for GT/LT, as in Redis.
 */
function expire(
  keyspace: Keyspace,
  key: string,
  expiresAt: () => number,
  options: readonly string[],
): number {
  const flags = new Set<string>();
  for (const option of options) {
    const flag = option.toUpperCase();
    if (!['NX', 'XX', 'GT', 'LT'].includes(flag)) {
      throw new RedisCommandError(`ERR Unsupported option ${option}`);
    }
    flags.add(flag);
  }
  if (flags.has('NX') && (flags.has('XX') || flags.has('GT') || flags.has('LT'))) {
    throw new RedisCommandError('ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if (flags.has('GT') && flags.has('LT')) {
    throw new RedisCommandError('ERR GT and LT options at the same time are not compatible');
  }
  const at = expiresAt();
  const current = keyspace.expiryOf(key);
  if (current === null) return 0;
  const currentOrInfinite = current ?? Number.POSITIVE_INFINITY;
  const refused =
    (flags.has('NX') && current !== undefined) ||
    (flags.has('XX') && current === undefined) ||
    (flags.has('GT') && !(at > currentOrInfinite)) ||
    (flags.has('LT') && !(at < currentOrInfinite));
  if (refused) return 0;
  keyspace.setExpiry(key, at);
  return 1;
}

/** TTL in ms of a key: -2 when missing, -1 without expiry. */
function remainingMs(keyspace: Keyspace, key: string): number {
  const expiresAt = keyspace.expiryOf(key);
  if (expiresAt === null) return -2;
  if (expiresAt === undefined) return -1;
  return Math.max(expiresAt - keyspace.currentTime(), 0);
}

function scan(args: readonly string[], keyspace: Keyspace): RedisReply {
  const [cursorText = '', ...options] = args;
  if (!/^\d+$/.test(cursorText)) throw new RedisCommandError('ERR invalid cursor');
  let pattern: string | undefined;
  let count = 10;
  let type: string | undefined;
  for (let i = 0; i < options.length; i += 2) {
    const option = (options[i] as string).toUpperCase();
    const value = options[i + 1];
    if (value === undefined) throw new RedisCommandError(SYNTAX_ERROR);
    if (option === 'MATCH') pattern = value;
    else if (option === 'COUNT') {
      count = integerArgument(value);
      if (count < 1) throw new RedisCommandError(SYNTAX_ERROR);
    } else if (option === 'TYPE') type = value.toLowerCase();
    else throw new RedisCommandError(SYNTAX_ERROR);
  }
  const page = keyspace.scan(Number(cursorText), count);
  const keys = page.keys.filter(
    (key) =>
      (pattern === undefined || globMatch(pattern, key)) &&
      (type === undefined || redisTypeName(keyspace.typeOf(key)) === type),
  );
  return [bulk(String(page.next)), keys.map(bulk)];
}

/** DEL, UNLINK, EXISTS, TYPE, EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT, TTL/PTTL, PERSIST, KEYS, SCAN, DBSIZE, FLUSHDB. */
export const keyCommands: CommandTable = {
  DEL: { arity: -2, run: (keys, keyspace) => keys.filter((key) => keyspace.delete(key)).length },
  UNLINK: { arity: -2, run: (keys, keyspace) => keys.filter((key) => keyspace.delete(key)).length },
  EXISTS: { arity: -2, run: (keys, keyspace) => keys.filter((key) => keyspace.has(key)).length },
  TYPE: { arity: 2, run: ([key = ''], keyspace) => bulk(redisTypeName(keyspace.typeOf(key))) },
  EXPIRE: {
    arity: -3,
    run: ([key = '', seconds = '', ...options], keyspace) =>
      expire(keyspace, key, () => keyspace.currentTime() + integerArgument(seconds) * 1000, options),
  },
  PEXPIRE: {
    arity: -3,
    run: ([key = '', ms = '', ...options], keyspace) =>
      expire(keyspace, key, () => keyspace.currentTime() + integerArgument(ms), options),
  },
  EXPIREAT: {
    arity: -3,
    run: ([key = '', at = '', ...options], keyspace) =>
      expire(keyspace, key, () => integerArgument(at) * 1000, options),
  },
  PEXPIREAT: {
    arity: -3,
    run: ([key = '', at = '', ...options], keyspace) =>
      expire(keyspace, key, () => integerArgument(at), options),
  },
  TTL: {
    arity: 2,
    run: ([key = ''], keyspace) => {
      const ms = remainingMs(keyspace, key);
      return ms < 0 ? ms : Math.floor((ms + 500) / 1000);
    },
  },
  PTTL: { arity: 2, run: ([key = ''], keyspace) => remainingMs(keyspace, key) },
  PERSIST: {
    arity: 2,
    run: ([key = ''], keyspace) => {
      if (typeof keyspace.expiryOf(key) !== 'number') return 0;
      keyspace.setExpiry(key, undefined);
      return 1;
    },
  },
  KEYS: {
    arity: 2,
    run: ([pattern = ''], keyspace) =>
      keyspace
        .keys()
        .filter((key) => globMatch(pattern, key))
        .map(bulk),
  },
  SCAN: { arity: -2, run: scan },
  DBSIZE: { arity: 1, run: (_args, keyspace) => keyspace.size() },
  FLUSHDB: { arity: -1, run: flush },
  FLUSHALL: { arity: -1, run: flush },
};

function flush(args: readonly string[], keyspace: Keyspace): RedisReply {
  const mode = args[0]?.toUpperCase();
  if (args.length > 1 || (mode !== undefined && mode !== 'SYNC' && mode !== 'ASYNC')) {
    throw new RedisCommandError(SYNTAX_ERROR);
  }
  keyspace.flush();
  return OK;
}
