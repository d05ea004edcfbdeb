import { RedisCommandError, type RedisReply } from '../backend.ts';
import { bulk, floatArgument, formatDouble, indexRange, integerArgument, SYNTAX_ERROR } from './arguments.ts';
import type { CommandTable } from './command-spec.ts';
import type { Keyspace } from './keyspace.ts';

/** Sorted sets: ZADD, ZINCRBY, ZREM, ZSCORE, ZCARD, ZRANGE (by index/score/lex, REV, LIMIT, WITHSCORES), ZREVRANGE, ZREMRANGEBYRANK. */

type Member = { member: string; score: number };

/** Members in Redis order: by score, then by member bytes. */
function ordered(zset: Map<string, number>): Member[] {
  return [...zset]
    .map(([member, score]) => ({ member, score }))
    .sort((a, b) =>
      a.score < b.score ? -1 : a.score > b.score ? 1 : Buffer.compare(bulk(a.member), bulk(b.member)),
    );
}

function zadd(args: readonly string[], keyspace: Keyspace): RedisReply {
  const [key = '', ...rest] = args;
  const flags = new Set<string>();
  let i = 0;
  while (
    i < rest.length &&
    ['NX', 'XX', 'GT', 'LT', 'CH', 'INCR'].includes((rest[i] as string).toUpperCase())
  ) {
    flags.add((rest[i] as string).toUpperCase());
    i++;
  }
  const pairs = rest.slice(i);
  if (pairs.length === 0 || pairs.length % 2 !== 0) throw new RedisCommandError(SYNTAX_ERROR);
  if (flags.has('NX') && flags.has('XX')) {
    throw new RedisCommandError('ERR XX and NX options at the same time are not compatible');
  }
  if ((flags.has('GT') && flags.has('LT')) || (flags.has('NX') && (flags.has('GT') || flags.has('LT')))) {
    throw new RedisCommandError('ERR GT, LT, and/or NX options at the same time are not compatible');
  }
  if (flags.has('INCR') && pairs.length !== 2) {
    throw new RedisCommandError('ERR INCR option supports a single increment-element pair');
  }
  const updates: Member[] = [];
  for (let p = 0; p < pairs.length; p += 2) {
    updates.push({ score: floatArgument(pairs[p] as string), member: pairs[p + 1] as string });
  }
  // Validate every score before touching the set, so a bad pair changes nothing (as in Redis).
  const existingSet = keyspace.read(key, 'zset');
  if (existingSet === undefined && flags.has('XX')) return flags.has('INCR') ? null : 0;
  const zset = existingSet ?? keyspace.readOrCreate(key, 'zset', () => new Map());
  let added = 0;
  let changed = 0;
  let lastScore: number | null = null;
  for (const { member, score } of updates) {
    const current = zset.get(member);
    const next = flags.has('INCR') ? (current ?? 0) + score : score;
    if (Number.isNaN(next)) throw new RedisCommandError('ERR resulting score is not a number (NaN)');
    const skip =
      (flags.has('NX') && current !== undefined) ||
      (flags.has('XX') && current === undefined) ||
      (current !== undefined && flags.has('GT') && !(next > current)) ||
      (current !== undefined && flags.has('LT') && !(next < current));
    if (skip) {
      lastScore = null;
      continue;
    }
    if (current === undefined) added++;
    else if (current !== next) changed++;
    zset.set(member, next);
    lastScore = next;
  }
  keyspace.dropIfEmpty(key);
  if (flags.has('INCR')) return lastScore === null ? null : bulk(formatDouble(lastScore));
  return flags.has('CH') ? added + changed : added;
}

type Bound = { value: number | string; exclusive: boolean } | 'min' | 'max';

function scoreBound(text: string): Bound {
  const exclusive = text.startsWith('(');
  const value = floatArgument(exclusive ? text.slice(1) : text, 'ERR min or max is not a float');
  return { value, exclusive };
}

function lexBound(text: string): Bound {
  if (text === '-') return 'min';
  if (text === '+') return 'max';
  if (text.startsWith('(') || text.startsWith('['))
    return { value: text.slice(1), exclusive: text.startsWith('(') };
  throw new RedisCommandError('ERR min or max not valid string range item');
}

function compareToBound(value: number | string, bound: Bound): number {
  if (bound === 'min') return 1;
  if (bound === 'max') return -1;
  if (typeof value === 'number') {
    // Not a subtraction: -inf - -inf is NaN, and infinite scores are valid members.
    const limit = bound.value as number;
    return value < limit ? -1 : value > limit ? 1 : 0;
  }
  return Buffer.compare(bulk(value), bulk(bound.value as string));
}

function within(value: number | string, min: Bound, max: Bound): boolean {
  const fromMin = compareToBound(value, min);
  const toMax = compareToBound(value, max);
  const aboveMin = typeof min === 'object' && min.exclusive ? fromMin > 0 : fromMin >= 0;
  const belowMax = typeof max === 'object' && max.exclusive ? toMax < 0 : toMax <= 0;
  return aboveMin && belowMax;
}

function zrange(args: readonly string[], keyspace: Keyspace, forceReverse = false): RedisReply {
  const [key = '', startText = '', stopText = '', ...options] = args;
  let by: 'index' | 'score' | 'lex' = 'index';
  let reverse = forceReverse;
  let withScores = false;
  let limit: [number, number] | undefined;
  for (let i = 0; i < options.length; i++) {
    const option = (options[i] as string).toUpperCase();
    if (option === 'BYSCORE' && !forceReverse) by = 'score';
    else if (option === 'BYLEX' && !forceReverse) by = 'lex';
    else if (option === 'REV' && !forceReverse) reverse = true;
    else if (option === 'WITHSCORES') withScores = true;
    else if (option === 'LIMIT' && !forceReverse && i + 2 < options.length) {
      limit = [integerArgument(options[i + 1] as string), integerArgument(options[i + 2] as string)];
      i += 2;
    } else throw new RedisCommandError(SYNTAX_ERROR);
  }
  if (limit !== undefined && by === 'index') {
    throw new RedisCommandError(
      'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
    );
  }
  if (withScores && by === 'lex') {
    throw new RedisCommandError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  }
  let members: Member[];
  if (by === 'index') {
    const start = integerArgument(startText);
    const stop = integerArgument(stopText);
    const all = ordered(keyspace.read(key, 'zset') ?? new Map());
    if (reverse) all.reverse();
    members = all.slice(...indexRange(start, stop, all.length));
  } else {
    // With REV the range is given as max then min.
    const parse = by === 'score' ? scoreBound : lexBound;
    const [min, max] = reverse ? [parse(stopText), parse(startText)] : [parse(startText), parse(stopText)];
    const all = ordered(keyspace.read(key, 'zset') ?? new Map());
    if (reverse) all.reverse();
    members = all.filter((entry) => within(by === 'score' ? entry.score : entry.member, min, max));
    if (limit !== undefined) {
      const [offset, count] = limit;
      members = offset < 0 ? [] : members.slice(offset, count < 0 ? undefined : offset + count);
    }
  }
  return members.flatMap(({ member, score }) =>
    withScores ? [bulk(member), bulk(formatDouble(score))] : [bulk(member)],
  );
}

export const zsetCommands: CommandTable = {
  ZADD: { arity: -4, run: zadd },
  ZINCRBY: {
    arity: 4,
    run: ([key = '', by = '', member = ''], keyspace) => {
      const increment = floatArgument(by);
      const zset = keyspace.readOrCreate(key, 'zset', () => new Map());
      const next = (zset.get(member) ?? 0) + increment;
      if (Number.isNaN(next)) throw new RedisCommandError('ERR resulting score is not a number (NaN)');
      zset.set(member, next);
      return bulk(formatDouble(next));
    },
  },
  ZREM: {
    arity: -3,
    run: ([key = '', ...members], keyspace) => {
      const zset = keyspace.read(key, 'zset');
      if (zset === undefined) return 0;
      const removed = members.filter((member) => zset.delete(member)).length;
      keyspace.dropIfEmpty(key);
      return removed;
    },
  },
  ZSCORE: {
    arity: 3,
    run: ([key = '', member = ''], keyspace) => {
      const score = keyspace.read(key, 'zset')?.get(member);
      return score === undefined ? null : bulk(formatDouble(score));
    },
  },
  ZCARD: { arity: 2, run: ([key = ''], keyspace) => keyspace.read(key, 'zset')?.size ?? 0 },
  ZRANGE: { arity: -4, run: (args, keyspace) => zrange(args, keyspace) },
  ZREVRANGE: { arity: -4, run: (args, keyspace) => zrange(args, keyspace, true) },
  ZREMRANGEBYRANK: {
    arity: 4,
    run: ([key = '', start = '', stop = ''], keyspace) => {
      const from = integerArgument(start);
      const to = integerArgument(stop);
      const zset = keyspace.read(key, 'zset');
      if (zset === undefined) return 0;
      const doomed = ordered(zset).slice(...indexRange(from, to, zset.size));
      for (const { member } of doomed) zset.delete(member);
      keyspace.dropIfEmpty(key);
      return doomed.length;
    },
  },
};
