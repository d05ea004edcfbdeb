import { RedisCommandError } from '../backend.ts';
import { addToInteger, bulk, integerArgument, OK, SYNTAX_ERROR } from './arguments.ts';
import type { CommandTable } from './command-spec.ts';
import type { Keyspace } from './keyspace.ts';

/** SET's options, parsed. */
interface SetOptions {
  condition: 'NX' | 'XX' | undefined;
  get: boolean;
  expiresAt: number | undefined;
  keepTtl: boolean;
}

function parseSetOptions(options: readonly string[], now: number): SetOptions {
  const parsed: SetOptions = { condition: undefined, get: false, expiresAt: undefined, keepTtl: false };
  let expirySeen = false;
  for (let i = 0; i < options.length; i++) {
    const option = (options[i] as string).toUpperCase();
    if (option === 'NX' || option === 'XX') {
      if (parsed.condition !== undefined) throw new RedisCommandError(SYNTAX_ERROR);
      parsed.condition = option;
    } else if (option === 'GET') {
      parsed.get = true;
    } else if (option === 'KEEPTTL') {
      if (expirySeen) throw new RedisCommandError(SYNTAX_ERROR);
      expirySeen = true;
      parsed.keepTtl = true;
    } else if (option === 'EX' || option === 'PX' || option === 'EXAT' || option === 'PXAT') {
      const amountText = options[i + 1];
      if (expirySeen || amountText === undefined) throw new RedisCommandError(SYNTAX_ERROR);
      expirySeen = true;
      i++;
      const amount = integerArgument(amountText);
      if (amount <= 0) throw new RedisCommandError("ERR invalid expire time in 'set' command");
      parsed.expiresAt =
        option === 'EX'
          ? now + amount * 1000
          : option === 'PX'
            ? now + amount
            : option === 'EXAT'
              ? amount * 1000
              : amount;
    } else {
      throw new RedisCommandError(SYNTAX_ERROR);
    }
  }
  return parsed;
}

function set(keyspace: Keyspace, key: string, value: string, options: SetOptions) {
  const previous = options.get ? keyspace.read(key, 'string') : undefined;
  const exists = keyspace.has(key);
  if ((options.condition === 'NX' && exists) || (options.condition === 'XX' && !exists)) {
    return options.get ? (previous ?? null) : null;
  }
  keyspace.write(key, { type: 'string', value: bulk(value) }, options.keepTtl);
  if (!options.keepTtl) keyspace.setExpiry(key, options.expiresAt);
  return options.get ? (previous ?? null) : OK;
}

function incrementBy(keyspace: Keyspace, key: string, increment: number) {
  const result = addToInteger(keyspace.read(key, 'string'), increment);
  keyspace.write(key, { type: 'string', value: bulk(String(result)) }, true);
  return result;
}

/** GET, SET (NX/XX/GET/EX/PX/EXAT/PXAT/KEEPTTL), SETEX, GETDEL, MGET, MSET, INCR/DECR family. */
export const stringCommands: CommandTable = {
  GET: { arity: 2, run: ([key = ''], keyspace) => keyspace.read(key, 'string') ?? null },
  SET: {
    arity: -3,
    run: ([key = '', value = '', ...options], keyspace) =>
      set(keyspace, key, value, parseSetOptions(options, keyspace.currentTime())),
  },
  SETEX: {
    arity: 4,
    run: ([key = '', seconds = '', value = ''], keyspace) => {
      const amount = integerArgument(seconds);
      if (amount <= 0) throw new RedisCommandError("ERR invalid expire time in 'setex' command");
      return set(keyspace, key, value, {
        condition: undefined,
        get: false,
        keepTtl: false,
        expiresAt: keyspace.currentTime() + amount * 1000,
      });
    },
  },
  GETDEL: {
    arity: 2,
    run: ([key = ''], keyspace) => {
      const value = keyspace.read(key, 'string');
      if (value !== undefined) keyspace.delete(key);
      return value ?? null;
    },
  },
  MGET: {
    arity: -2,
    // nil for anything but a plain string, as in Redis; here that includes a HyperLogLog (no string form).
    run: (keys, keyspace) =>
      keys.map((key) => (keyspace.typeOf(key) === 'string' ? (keyspace.read(key, 'string') ?? null) : null)),
  },
  MSET: {
    arity: -3,
    run: (pairs, keyspace) => {
      if (pairs.length % 2 !== 0)
        throw new RedisCommandError("ERR wrong number of arguments for 'mset' command");
      for (let i = 0; i < pairs.length; i += 2) {
        keyspace.write(pairs[i] as string, { type: 'string', value: bulk(pairs[i + 1] as string) });
      }
      return OK;
    },
  },
  INCR: { arity: 2, run: ([key = ''], keyspace) => incrementBy(keyspace, key, 1) },
  DECR: { arity: 2, run: ([key = ''], keyspace) => incrementBy(keyspace, key, -1) },
  INCRBY: {
    arity: 3,
    run: ([key = '', by = ''], keyspace) => incrementBy(keyspace, key, integerArgument(by)),
  },
  DECRBY: {
    arity: 3,
    run: ([key = '', by = ''], keyspace) => incrementBy(keyspace, key, -integerArgument(by)),
  },
};
