import { RedisCommandError, type RedisReply } from '../backend.ts';
import { addToInteger, bulk, indexRange, integerArgument, OK } from './arguments.ts';
import type { CommandTable } from './command-spec.ts';
import type { Keyspace } from './keyspace.ts';

/** Lists, hashes and sets: the commands the product uses for recent activity and per-user data. */

function push(keyspace: Keyspace, key: string, values: readonly string[], atHead: boolean): number {
  const list = keyspace.readOrCreate(key, 'list', () => []);
  for (const value of values) {
    if (atHead) list.unshift(bulk(value));
    else list.push(bulk(value));
  }
  return list.length;
}

function pop(keyspace: Keyspace, key: string, countText: string | undefined, fromHead: boolean): RedisReply {
  const count = countText === undefined ? undefined : integerArgument(countText);
  if (count !== undefined && count < 0)
    throw new RedisCommandError('ERR value is out of range, must be positive');
  const list = keyspace.read(key, 'list');
  if (list === undefined) return null;
  const taken = fromHead
    ? list.splice(0, count ?? 1)
    : list.splice(Math.max(list.length - (count ?? 1), 0)).reverse();
  keyspace.dropIfEmpty(key);
  return count === undefined ? (taken[0] ?? null) : taken;
}

function pairsOf(args: readonly string[], command: string): [string, string][] {
  if (args.length === 0 || args.length % 2 !== 0) {
    throw new RedisCommandError(`ERR wrong number of arguments for '${command}' command`);
  }
  const pairs: [string, string][] = [];
  for (let i = 0; i < args.length; i += 2) pairs.push([args[i] as string, args[i + 1] as string]);
  return pairs;
}

function hashSet(keyspace: Keyspace, key: string, fieldValues: readonly string[], command: string): number {
  const pairs = pairsOf(fieldValues, command);
  const hash = keyspace.readOrCreate(key, 'hash', () => new Map());
  let added = 0;
  for (const [field, value] of pairs) {
    if (!hash.has(field)) added++;
    hash.set(field, bulk(value));
  }
  return added;
}

export const collectionCommands: CommandTable = {
  LPUSH: { arity: -3, run: ([key = '', ...values], keyspace) => push(keyspace, key, values, true) },
  RPUSH: { arity: -3, run: ([key = '', ...values], keyspace) => push(keyspace, key, values, false) },
  LPOP: { arity: -2, run: ([key = '', count], keyspace) => pop(keyspace, key, count, true) },
  RPOP: { arity: -2, run: ([key = '', count], keyspace) => pop(keyspace, key, count, false) },
  LLEN: { arity: 2, run: ([key = ''], keyspace) => keyspace.read(key, 'list')?.length ?? 0 },
  LINDEX: {
    arity: 3,
    run: ([key = '', index = ''], keyspace) => {
      const list = keyspace.read(key, 'list') ?? [];
      const at = integerArgument(index);
      return list[at < 0 ? list.length + at : at] ?? null;
    },
  },
  LRANGE: {
    arity: 4,
    run: ([key = '', start = '', stop = ''], keyspace) => {
      const list = keyspace.read(key, 'list') ?? [];
      return list.slice(...indexRange(integerArgument(start), integerArgument(stop), list.length));
    },
  },
  LTRIM: {
    arity: 4,
    run: ([key = '', start = '', stop = ''], keyspace) => {
      const from = integerArgument(start);
      const to = integerArgument(stop);
      const list = keyspace.read(key, 'list');
      if (list === undefined) return OK;
      const kept = list.slice(...indexRange(from, to, list.length));
      list.splice(0, list.length, ...kept);
      keyspace.dropIfEmpty(key);
      return OK;
    },
  },

  HSET: {
    arity: -4,
    run: ([key = '', ...fieldValues], keyspace) => hashSet(keyspace, key, fieldValues, 'hset'),
  },
  HMSET: {
    arity: -4,
    run: ([key = '', ...fieldValues], keyspace) => {
      hashSet(keyspace, key, fieldValues, 'hmset');
      return OK;
    },
  },
  HGET: {
    arity: 3,
    run: ([key = '', field = ''], keyspace) => keyspace.read(key, 'hash')?.get(field) ?? null,
  },
  HMGET: {
    arity: -3,
    run: ([key = '', ...fields], keyspace) => {
      const hash = keyspace.read(key, 'hash');
      return fields.map((field) => hash?.get(field) ?? null);
    },
  },
  HGETALL: {
    arity: 2,
    run: ([key = ''], keyspace) =>
      [...(keyspace.read(key, 'hash') ?? [])].flatMap(([field, value]) => [bulk(field), value]),
  },
  HKEYS: {
    arity: 2,
    run: ([key = ''], keyspace) => [...(keyspace.read(key, 'hash')?.keys() ?? [])].map(bulk),
  },
  HVALS: { arity: 2, run: ([key = ''], keyspace) => [...(keyspace.read(key, 'hash')?.values() ?? [])] },
  HLEN: { arity: 2, run: ([key = ''], keyspace) => keyspace.read(key, 'hash')?.size ?? 0 },
  HEXISTS: {
    arity: 3,
    run: ([key = '', field = ''], keyspace) => (keyspace.read(key, 'hash')?.has(field) ? 1 : 0),
  },
  HDEL: {
    arity: -3,
    run: ([key = '', ...fields], keyspace) => {
      const hash = keyspace.read(key, 'hash');
      if (hash === undefined) return 0;
      const removed = fields.filter((field) => hash.delete(field)).length;
      keyspace.dropIfEmpty(key);
      return removed;
    },
  },
  HINCRBY: {
    arity: 4,
    run: ([key = '', field = '', by = ''], keyspace) => {
      const increment = integerArgument(by);
      const hash = keyspace.readOrCreate(key, 'hash', () => new Map());
      const result = addToInteger(hash.get(field), increment, 'ERR hash value is not an integer');
      hash.set(field, bulk(String(result)));
      return result;
    },
  },

  SADD: {
    arity: -3,
    run: ([key = '', ...members], keyspace) => {
      const set = keyspace.readOrCreate(key, 'set', () => new Set());
      const before = set.size;
      for (const member of members) set.add(member);
      return set.size - before;
    },
  },
  SREM: {
    arity: -3,
    run: ([key = '', ...members], keyspace) => {
      const set = keyspace.read(key, 'set');
      if (set === undefined) return 0;
      const removed = members.filter((member) => set.delete(member)).length;
      keyspace.dropIfEmpty(key);
      return removed;
    },
  },
  SMEMBERS: { arity: 2, run: ([key = ''], keyspace) => [...(keyspace.read(key, 'set') ?? [])].map(bulk) },
  SISMEMBER: {
    arity: 3,
    run: ([key = '', member = ''], keyspace) => (keyspace.read(key, 'set')?.has(member) ? 1 : 0),
  },
  SCARD: { arity: 2, run: ([key = ''], keyspace) => keyspace.read(key, 'set')?.size ?? 0 },
};
