import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandBackend, RedisCommand, RedisReply } from '../../scripts/local-upstash/backend.ts';
import { HLL_HAS_NO_STRING_FORM } from '../../scripts/local-upstash/memory/keyspace.ts';
import { createMemoryBackend } from '../../scripts/local-upstash/memory-backend.ts';
import { connectRedisBackend } from '../../scripts/local-upstash/redis-backend.ts';
import { type SpawnedRedis, spawnRedisServer } from '../../scripts/local-upstash/spawn-redis.ts';

/**
 * The in-memory fallback checked against a real redis-server: the same command scripts run on both and
 * must give the same replies and the same error messages. Then the parts that need a controlled clock
 * (expiry) or a changing keyspace (SCAN's guarantee) are checked on the memory backend alone.
 */

type Plain = null | number | string | Plain[] | { error: string };

/** Replies as comparable values; `sorted` for commands whose order Redis does not define. */
function plain(reply: RedisReply, sorted = false): Plain {
  if (reply === null || typeof reply === 'number') return reply;
  if (Array.isArray(reply)) {
    const items = reply.map((item) => plain(item));
    return sorted ? items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
  }
  return reply.toString('utf8');
}

async function outcome(backend: CommandBackend, command: RedisCommand): Promise<Plain> {
  const unordered = ['SMEMBERS', 'KEYS', 'HKEYS', 'HVALS'].includes(command[0].toUpperCase());
  try {
    return plain(await backend.execute(command), unordered);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const SCRIPTS: Record<string, RedisCommand[]> = {
  strings: [
    ['SET', 'k', 'v'],
    ['GET', 'k'],
    ['SET', 'k', 'w', 'NX'],
    ['SET', 'k', 'w', 'XX', 'GET'],
    ['SET', 'nope', 'x', 'XX'],
    ['SET', 'k', 'v', 'EX', '0'],
    ['SET', 'k', 'v', 'EX', 'ten'],
    ['SET', 'k', 'v', 'NX', 'XX'],
    ['SET', 'k', 'v', 'EX', '10', 'PX', '100'],
    ['SET', 'k', 'v', 'BOGUS'],
    ['SETEX', 'k2', '100', 'v2'],
    ['SETEX', 'k2', '-1', 'v2'],
    ['MSET', 'a', '1', 'b', '2'],
    ['MSET', 'a', '1', 'b'],
    ['MGET', 'a', 'b', 'missing', 'k'],
    ['GETDEL', 'a'],
    ['GET', 'a'],
    ['INCR', 'counter'],
    ['INCRBY', 'counter', '41'],
    ['DECRBY', 'counter', '2'],
    ['DECR', 'counter'],
    ['INCRBY', 'counter', '1.5'],
    ['INCRBY', 'counter', '+1'],
    ['INCRBY', 'counter', '007'],
    ['DECRBY', 'counter', '0'],
    ['INCR', 'k'],
    ['SET', 'big', '9007199254740990'],
    ['GET', 'big'],
    ['SET', 'spaced', ' 12'],
    ['INCR', 'spaced'],
    ['GET'],
    ['GET', 'a', 'b'],
    ['LPUSH', 'list', 'x'],
    ['SET', 'list', 'y', 'GET'],
    ['GET', 'list'],
    ['MGET', 'list', 'k'],
  ],
  keys: [
    ['MSET', 'user:1', 'a', 'user:2', 'b', 'user:10', 'c', 'item:1', 'd', 'h[x]', 'e'],
    ['EXISTS', 'user:1', 'user:2', 'missing', 'user:1'],
    ['KEYS', 'user:*'],
    ['KEYS', 'user:?'],
    ['KEYS', 'user:[12]*'],
    ['KEYS', 'user:[^1]'],
    ['KEYS', 'user:[0-9]0'],
    ['KEYS', 'h\\[x\\]'],
    ['KEYS', '*'],
    ['DEL', 'user:1', 'user:1', 'missing'],
    ['UNLINK', 'user:2'],
    ['TYPE', 'user:10'],
    ['TYPE', 'missing'],
    ['EXPIRE', 'user:10', '100'],
    ['TTL', 'user:10'],
    ['EXPIRE', 'user:10', '200', 'NX'],
    ['EXPIRE', 'user:10', '200', 'XX'],
    ['EXPIRE', 'user:10', '50', 'GT'],
    ['EXPIRE', 'user:10', '50', 'LT'],
    ['TTL', 'user:10'],
    ['EXPIRE', 'item:1', '50', 'GT'],
    ['EXPIRE', 'item:1', '50', 'LT'],
    ['EXPIRE', 'item:1', '50', 'BAD'],
    // Every option is read, and combinations Redis refuses are refused before the time is read.
    ['EXPIRE', 'user:10', '10', 'NX', 'XX'],
    ['EXPIRE', 'user:10', 'ten', 'nx', 'gt'],
    ['EXPIRE', 'user:10', '10', 'GT', 'LT'],
    ['EXPIRE', 'user:10', 'ten', 'BAD'],
    ['EXPIRE', 'user:10', '10', 'XX', 'BAD'],
    ['EXPIRE', 'user:10', '500', 'XX', 'GT'],
    ['EXPIRE', 'item:1', '500', 'XX', 'LT'],
    ['PEXPIRE', 'user:10', '1000', 'LT', 'LT'],
    ['TTL', 'user:10'],
    // Integers as Redis writes them: no sign but `-`, no leading zero.
    ['EXPIRE', 'user:10', '+5'],
    ['EXPIRE', 'user:10', '05'],
    ['EXPIRE', 'user:10', '-0'],
    ['EXPIRE', 'user:10', ' 5'],
    ['EXPIREAT', 'item:1', '+99999999999'],
    ['TTL', 'user:10'],
    ['TTL', 'item:1'],
    ['PERSIST', 'item:1'],
    ['TTL', 'item:1'],
    ['PERSIST', 'item:1'],
    ['TTL', 'missing'],
    ['PTTL', 'missing'],
    ['EXPIRE', 'missing', '10'],
    ['EXPIRE', 'user:10', '-1'],
    ['EXISTS', 'user:10'],
    ['DBSIZE'],
    ['SCAN', 'x'],
    ['SCAN', '0', 'COUNT', '0'],
    ['SCAN', '0', 'MATCH'],
    ['FLUSHDB'],
    ['DBSIZE'],
  ],
  lists: [
    ['LPUSH', 'l', 'a', 'b', 'c'],
    ['RPUSH', 'l', 'd', 'e'],
    ['LRANGE', 'l', '0', '-1'],
    ['LRANGE', 'l', '-2', '100'],
    ['LRANGE', 'l', '3', '1'],
    ['LRANGE', 'l', '10', '20'],
    ['LRANGE', 'l', '-100', '1'],
    ['LRANGE', 'missing', '0', '-1'],
    ['LRANGE', 'l', 'a', '1'],
    ['LLEN', 'l'],
    ['LINDEX', 'l', '-1'],
    ['LINDEX', 'l', '99'],
    ['LPOP', 'l'],
    ['RPOP', 'l', '2'],
    ['LPOP', 'l', '0'],
    ['LTRIM', 'l', '0', '0'],
    ['LRANGE', 'l', '0', '-1'],
    ['LTRIM', 'l', '5', '10'],
    ['EXISTS', 'l'],
    ['LPOP', 'l'],
    ['LTRIM', 'missing', '0', '1'],
    ['SET', 's', 'x'],
    ['LPUSH', 's', 'y'],
    ['LLEN', 's'],
    ['LPUSH', 'l'],
  ],
  hashes: [
    ['HSET', 'h', 'name', 'Ada', 'visits', '1'],
    ['HSET', 'h', 'name', 'Ada L.', 'lang', 'en'],
    ['HSET', 'h', 'odd'],
    ['HSET', 'h', 'a', 'b', 'c'],
    ['HGET', 'h', 'name'],
    ['HGET', 'h', 'missing'],
    ['HGET', 'missing', 'x'],
    ['HMGET', 'h', 'name', 'missing', 'lang'],
    ['HGETALL', 'h'],
    ['HGETALL', 'missing'],
    ['HINCRBY', 'h', 'visits', '5'],
    ['HINCRBY', 'h', 'new', '-3'],
    ['HINCRBY', 'h', 'name', '1'],
    ['HINCRBY', 'h', 'visits', 'x'],
    ['HLEN', 'h'],
    ['HEXISTS', 'h', 'lang'],
    ['HKEYS', 'h'],
    ['HVALS', 'h'],
    ['HDEL', 'h', 'lang', 'missing'],
    ['HMSET', 'h', 'x', '1'],
    ['HDEL', 'h', 'name', 'visits', 'new', 'x'],
    ['EXISTS', 'h'],
    ['SET', 'str', 'v'],
    ['HGET', 'str', 'f'],
  ],
  sets: [
    ['SADD', 's', 'a', 'b', 'a', 'c'],
    ['SADD', 's', 'a'],
    ['SMEMBERS', 's'],
    ['SISMEMBER', 's', 'b'],
    ['SISMEMBER', 's', 'z'],
    ['SCARD', 's'],
    ['SREM', 's', 'a', 'z'],
    ['SREM', 's', 'b', 'c'],
    ['EXISTS', 's'],
    ['SMEMBERS', 'missing'],
  ],
  zsets: [
    ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c'],
    ['ZADD', 'z', '2', 'a2', '2', 'a1'],
    ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
    ['ZADD', 'z', 'NX', '10', 'a', '4', 'd'],
    ['ZADD', 'z', 'XX', 'CH', '10', 'a', '5', 'e'],
    ['ZADD', 'z', 'GT', 'CH', '1', 'a', '20', 'b'],
    ['ZADD', 'z', 'LT', '0', 'c'],
    ['ZADD', 'z', 'INCR', '1.5', 'c'],
    ['ZADD', 'z', 'NX', 'INCR', '1', 'c'],
    ['ZADD', 'z', 'NX', 'XX', '1', 'c'],
    ['ZADD', 'z', 'GT', 'LT', '1', 'c'],
    ['ZADD', 'z', 'INCR', '1', 'c', '2', 'd'],
    ['ZADD', 'z', 'x', 'c'],
    ['ZADD', 'z', '1', 'c', '2'],
    ['ZADD', 'z', '-inf', 'low', '+inf', 'high'],
    ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
    ['ZRANGE', 'z', '0', '2', 'REV'],
    ['ZREVRANGE', 'z', '0', '1', 'WITHSCORES'],
    ['ZRANGE', 'z', '2', '10', 'BYSCORE'],
    ['ZRANGE', 'z', '(2', '10', 'BYSCORE', 'WITHSCORES'],
    ['ZRANGE', 'z', '-inf', '+inf', 'BYSCORE', 'LIMIT', '1', '2'],
    ['ZRANGE', 'z', '+inf', '(2', 'BYSCORE', 'REV', 'LIMIT', '0', '3', 'WITHSCORES'],
    ['ZRANGE', 'z', 'x', '10', 'BYSCORE'],
    ['ZRANGE', 'z', '0', '1', 'LIMIT', '0', '1'],
    ['ZRANGE', 'z', '0', '1', 'BOGUS'],
    ['ZINCRBY', 'z', '2.25', 'a'],
    ['ZINCRBY', 'z', '1', 'new'],
    ['ZINCRBY', 'z', 'abc', 'new'],
    ['ZSCORE', 'z', 'a'],
    ['ZSCORE', 'z', 'missing'],
    ['ZSCORE', 'z', 'high'],
    ['ZCARD', 'z'],
    ['ZREM', 'z', 'a', 'missing'],
    ['ZREMRANGEBYRANK', 'z', '0', '1'],
    ['ZRANGE', 'z', '0', '-1'],
    ['ZADD', 'lex', '0', 'apple', '0', 'banana', '0', 'cherry', '0', 'date'],
    ['ZRANGE', 'lex', '[b', '(d', 'BYLEX'],
    ['ZRANGE', 'lex', '+', '-', 'BYLEX', 'REV', 'LIMIT', '1', '2'],
    ['ZRANGE', 'lex', 'b', 'd', 'BYLEX'],
    ['ZRANGE', 'missing', '0', '-1'],
    ['ZADD', 'f', '0.5', 'x', '123456789.125', 'v', '-2', 'w'],
    ['ZINCRBY', 'f', '0.25', 'x'],
    ['ZRANGE', 'f', '0', '-1', 'WITHSCORES'],
    ['SET', 'str', 'v'],
    ['ZADD', 'str', '1', 'a'],
  ],
  hyperloglogs: [
    ['PFADD', 'hll', 'a', 'b', 'c', 'a'],
    ['PFADD', 'hll', 'b'],
    ['PFADD', 'hll', 'd'],
    ['PFADD', 'hll'],
    ['PFCOUNT', 'hll'],
    ['PFADD', 'empty'],
    ['PFADD', 'empty'],
    ['EXISTS', 'empty'],
    ['PFCOUNT', 'empty'],
    ['PFCOUNT', 'missing'],
    ['PFCOUNT', 'missing', 'other-missing'],
    ['EXISTS', 'missing'],
    ['PFADD', 'hll2', 'c', 'd', 'e', 'f'],
    ['PFCOUNT', 'hll', 'hll2', 'empty', 'missing'],
    ['PFADD', 'many', ...Array.from({ length: 40 }, (_, index) => `user:${index}`)],
    ['PFADD', 'many', ...Array.from({ length: 10 }, (_, index) => `user:${index * 4}`)],
    ['PFCOUNT', 'many'],
    ['PFCOUNT', 'many', 'hll'],
    ['TYPE', 'hll'],
    ['EXPIRE', 'hll', '100'],
    ['PFADD', 'hll', 'z'],
    ['TTL', 'hll'],
    ['PERSIST', 'hll'],
    ['DEL', 'hll2', 'empty'],
    ['EXISTS', 'hll', 'hll2', 'empty'],
    ['PFADD'],
    ['PFCOUNT'],
    ['RPUSH', 'list', 'x'],
    ['PFADD', 'list', 'a'],
    ['PFADD', 'list'],
    ['PFCOUNT', 'list'],
    ['PFCOUNT', 'hll', 'list'],
    ['SADD', 'set', 'a'],
    ['PFCOUNT', 'set'],
    ['SET', 'str', 'not an hll'],
    ['PFADD', 'str', 'a'],
    ['PFCOUNT', 'missing', 'str'],
    ['LPUSH', 'hll', 'x'],
    ['SET', 'hll', 'now a string'],
    ['GET', 'hll'],
    ['PFCOUNT', 'hll'],
  ],
  server: [
    ['PING'],
    ['PING', 'hello'],
    ['PING', 'a', 'b'],
    ['ECHO', 'echo'],
    ['NOSUCHCMD', 'a', 'b'],
    ['SUBSCRIBE', 'c'],
  ],
};

describe('in-memory backend against a real redis-server', () => {
  let redis: SpawnedRedis;
  let real: CommandBackend;
  let memory: CommandBackend;

  beforeAll(async () => {
    redis = await spawnRedisServer();
    real = await connectRedisBackend({ socketPath: redis.socketPath }, (message) => console.error(message));
  });
  afterAll(async () => {
    await real?.close();
    await redis?.stop();
  });
  beforeEach(async () => {
    memory = createMemoryBackend();
    await real.execute(['FLUSHDB']);
  });

  for (const [name, script] of Object.entries(SCRIPTS)) {
    it(`answers the ${name} script exactly like Redis`, async () => {
      for (const command of script) {
        const expected = await outcome(real, command);
        const actual = await outcome(memory, command);
        expect(actual, command.join(' ')).toEqual(expected);
      }
    });
  }

  it('prints inexact doubles like Redis 7.0 (%.17g)', async () => {
    const scores = ['0.1', '1e300', '-0.000001', '0.00001', '1e17', '1e16', '5e-324'];
    const command: RedisCommand = [
      'ZADD',
      'doubles',
      ...scores.flatMap((score, index) => [score, `m${index}`]),
    ];
    await memory.execute(command);
    const printed = plain(await memory.execute(['ZRANGE', 'doubles', '0', '-1', 'WITHSCORES']));
    expect(printed).toEqual([
      'm2',
      '-9.9999999999999995e-07',
      'm6',
      '4.9406564584124654e-324',
      'm3',
      '1.0000000000000001e-05',
      'm0',
      '0.10000000000000001',
      'm5',
      '10000000000000000',
      'm4',
      '1e+17',
      'm1',
      '1.0000000000000001e+300',
    ]);
    // Redis 7.2 and later print the shortest form instead; compare with the real server only on 7.0/7.1.
    const info = plain(await real.execute(['INFO', 'server'])) as string;
    if (/redis_version:7\.[01]\./.test(info)) {
      await real.execute(command);
      expect(plain(await real.execute(['ZRANGE', 'doubles', '0', '-1', 'WITHSCORES']))).toEqual(printed);
    }
  });

  it('answers pipelines and transactions like Redis, including aborted ones', async () => {
    const commands: RedisCommand[] = [
      ['SET', 'x', 'abc'],
      ['INCR', 'x'],
      ['RPUSH', 'l', '1', '2'],
      ['LRANGE', 'l', '0', '-1'],
    ];
    expect(await memory.pipeline(commands)).toEqual(await real.pipeline(commands));
    expect(await memory.transaction(commands)).toEqual(await real.transaction(commands));
    const aborted: RedisCommand[] = [['SET', 'y', '1'], ['GET'], ['NOSUCHCMD']];
    const realError = await real.transaction(aborted).catch((error: Error) => error.message);
    const memoryError = await memory.transaction(aborted).catch((error: Error) => error.message);
    expect(memoryError).toBe(realError);
    expect(memoryError).toMatch(/^EXECABORT/);
    expect(await outcome(memory, ['EXISTS', 'y'])).toBe(0);
  });
});

describe('in-memory backend with a controlled clock', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('expires keys exactly when their time passes', async () => {
    const memory = createMemoryBackend(clock);
    await memory.execute(['SET', 'k', 'v', 'PX', '100']);
    await memory.execute(['SET', 'at', 'v', 'PXAT', String(now + 50)]);
    await memory.execute(['RPUSH', 'l', 'x']);
    await memory.execute(['EXPIRE', 'l', '1']);
    now += 49;
    expect(plain(await memory.execute(['PTTL', 'k']))).toBe(51);
    expect(plain(await memory.execute(['GET', 'at']))).toBe('v');
    now += 1;
    expect(plain(await memory.execute(['GET', 'at']))).toBeNull();
    expect(plain(await memory.execute(['TTL', 'k']))).toBe(0);
    now += 50;
    expect(plain(await memory.execute(['GET', 'k']))).toBeNull();
    expect(plain(await memory.execute(['EXISTS', 'k']))).toBe(0);
    expect(plain(await memory.execute(['DBSIZE']))).toBe(1);
    now += 900;
    expect(plain(await memory.execute(['LLEN', 'l']))).toBe(0);
    expect(plain(await memory.execute(['KEYS', '*']))).toEqual([]);
  });

  it('keeps the TTL on INCR and SET KEEPTTL, and clears it on a plain SET', async () => {
    const memory = createMemoryBackend(clock);
    await memory.execute(['SET', 'n', '1', 'EX', '10']);
    await memory.execute(['INCR', 'n']);
    expect(plain(await memory.execute(['TTL', 'n']))).toBe(10);
    await memory.execute(['SET', 'n', '5', 'KEEPTTL']);
    expect(plain(await memory.execute(['TTL', 'n']))).toBe(10);
    await memory.execute(['SET', 'n', '6']);
    expect(plain(await memory.execute(['TTL', 'n']))).toBe(-1);
  });

  it('recreates an expired key as new, without its old value or type', async () => {
    const memory = createMemoryBackend(clock);
    await memory.execute(['SET', 'k', 'string', 'PX', '10']);
    now += 10;
    expect(plain(await memory.execute(['LPUSH', 'k', 'now a list']))).toBe(1);
    expect(plain(await memory.execute(['TTL', 'k']))).toBe(-1);
  });
});

describe('in-memory HyperLogLog', () => {
  it('expires like any key, keeps its TTL on PFADD, and is new again once expired', async () => {
    let now = 1_000_000;
    const memory = createMemoryBackend(() => now);
    await memory.execute(['PFADD', 'visitors', 'a', 'b']);
    await memory.execute(['PEXPIRE', 'visitors', '100']);
    now += 60;
    expect(plain(await memory.execute(['PFADD', 'visitors', 'c']))).toBe(1);
    expect(plain(await memory.execute(['PTTL', 'visitors']))).toBe(40);
    now += 40;
    expect(plain(await memory.execute(['EXISTS', 'visitors']))).toBe(0);
    expect(plain(await memory.execute(['PFCOUNT', 'visitors']))).toBe(0);
    expect(plain(await memory.execute(['PFADD', 'visitors', 'a']))).toBe(1);
    expect(plain(await memory.execute(['PFCOUNT', 'visitors']))).toBe(1);
    expect(plain(await memory.execute(['TTL', 'visitors']))).toBe(-1);
  });

  it('counts exactly where Redis would estimate', async () => {
    const memory = createMemoryBackend();
    const elements = Array.from({ length: 5000 }, (_, index) => `user:${index}`);
    await memory.execute(['PFADD', 'a', ...elements.slice(0, 3000)]);
    await memory.execute(['PFADD', 'b', ...elements.slice(2000)]);
    expect(plain(await memory.execute(['PFCOUNT', 'a']))).toBe(3000);
    expect(plain(await memory.execute(['PFCOUNT', 'a', 'b']))).toBe(5000);
  });

  // Where the emulation differs from Redis, as scripts/local-upstash/README.md says.
  it('is a string to TYPE and SCAN, but has no string form for GET, GETDEL or MGET', async () => {
    const memory = createMemoryBackend();
    await memory.execute(['PFADD', 'hll', 'a']);
    await memory.execute(['SET', 'plain', 'v']);
    expect(plain(await memory.execute(['SCAN', '0', 'TYPE', 'string']))).toEqual(['0', ['hll', 'plain']]);
    for (const command of [
      ['GET', 'hll'],
      ['GETDEL', 'hll'],
      ['INCR', 'hll'],
    ] as RedisCommand[]) {
      expect(await outcome(memory, command)).toEqual({ error: HLL_HAS_NO_STRING_FORM });
    }
    expect(plain(await memory.execute(['MGET', 'hll', 'plain']))).toEqual([null, 'v']);
    expect(plain(await memory.execute(['PFCOUNT', 'hll']))).toBe(1);
  });
});

describe('in-memory SCAN', () => {
  it('returns every key that exists for the whole scan exactly once, while keys come and go', async () => {
    const memory = createMemoryBackend();
    const stable = Array.from({ length: 40 }, (_, index) => `stable:${index}`);
    for (const key of stable) await memory.execute(['SET', key, '1']);
    const seen: string[] = [];
    let cursor = '0';
    let round = 0;
    do {
      const reply = plain(await memory.execute(['SCAN', cursor, 'COUNT', '7'])) as [string, string[]];
      cursor = reply[0];
      seen.push(...reply[1]);
      // Churn between pages: delete and add other keys.
      await memory.execute(['SET', `churn:${round}`, '1']);
      if (round > 0) await memory.execute(['DEL', `churn:${round - 1}`]);
      round++;
    } while (cursor !== '0' && round < 100);
    const stableSeen = seen.filter((key) => key.startsWith('stable:'));
    expect(stableSeen.sort()).toEqual([...stable].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('filters by MATCH and TYPE', async () => {
    const memory = createMemoryBackend();
    await memory.execute(['MSET', 'a:1', '1', 'a:2', '2', 'b:1', '3']);
    await memory.execute(['RPUSH', 'a:list', 'x']);
    const byPattern = plain(await memory.execute(['SCAN', '0', 'MATCH', 'a:*', 'COUNT', '100'])) as [
      string,
      string[],
    ];
    expect(byPattern[1].sort()).toEqual(['a:1', 'a:2', 'a:list']);
    const byType = plain(await memory.execute(['SCAN', '0', 'TYPE', 'list', 'COUNT', '100'])) as [
      string,
      string[],
    ];
    expect(byType).toEqual(['0', ['a:list']]);
  });
});
