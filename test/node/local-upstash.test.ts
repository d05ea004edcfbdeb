import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalUpstash, startLocalUpstash } from '../../scripts/local-upstash/index.ts';

/**
 * The local Upstash-compatible server driven by the real `@upstash/redis` client, once in front of a
 * spawned redis-server and once with the in-memory fallback: the same behaviour is expected of both.
 * The redis-server block does not skip when redis-server is missing: it fails, because CI installs it.
 */

const BINARY_SAFE_SAMPLES = [
  'plain ascii',
  'nul\u0000inside\u0000',
  'emoji 😀🛒 and accents éàü ß',
  '中文 العربية עברית',
  '\u0001\u0002\u007f control',
  'OK',
  '',
];

function clientSuite(backend: 'redis-server' | 'memory') {
  let server: LocalUpstash;
  let redis: Redis;

  beforeAll(async () => {
    server = await startLocalUpstash({ backend });
    // No retries: a failing request should fail the test now, not after five back-offs.
    redis = new Redis({ url: server.url, token: server.token, retry: false });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await redis.flushdb();
  });

  it(`reports the ${backend} backend`, () => {
    expect(server.backend).toBe(backend);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('sets and gets strings and JSON values', async () => {
    expect(await redis.set('greeting', 'hello')).toBe('OK');
    expect(await redis.get('greeting')).toBe('hello');
    const profile = { id: 'u1', tags: ['a', 'b'], score: 0.25, nested: { ok: true } };
    await redis.set('profile', profile);
    expect(await redis.get('profile')).toEqual(profile);
    expect(await redis.get('missing')).toBeNull();
    expect(await redis.exists('greeting', 'profile', 'missing')).toBe(2);
    expect(await redis.del('greeting', 'missing')).toBe(1);
    expect(await redis.get('greeting')).toBeNull();
  });

  it('round-trips binary-unsafe-looking strings byte for byte', async () => {
    for (const [index, value] of BINARY_SAFE_SAMPLES.entries()) {
      await redis.set(`bin:${index}`, value);
    }
    const values = await redis.mget<string[]>(...BINARY_SAFE_SAMPLES.map((_, index) => `bin:${index}`));
    expect(values).toEqual(BINARY_SAFE_SAMPLES);
    // Keys are binary safe too.
    await redis.set('key 😀\u0000', 'v');
    expect(await redis.get('key 😀\u0000')).toBe('v');
  });

  it('honours SET NX / XX and GET', async () => {
    expect(await redis.set('k', 'first', { nx: true })).toBe('OK');
    expect(await redis.set('k', 'second', { nx: true })).toBeNull();
    expect(await redis.set('absent', 'x', { xx: true })).toBeNull();
    expect(await redis.set('k', 'third', { xx: true, get: true })).toBe('first');
    expect(await redis.get('k')).toBe('third');
  });

  it('expires keys set with PX and reports TTL/PTTL', async () => {
    await redis.set('short', 'gone soon', { px: 30 });
    await redis.set('long', 'stays', { ex: 100 });
    await redis.set('forever', 'no expiry');
    expect(await redis.ttl('long')).toBeGreaterThan(98);
    expect(await redis.ttl('long')).toBeLessThanOrEqual(100);
    expect(await redis.pttl('long')).toBeGreaterThan(98_000);
    expect(await redis.ttl('forever')).toBe(-1);
    expect(await redis.ttl('missing')).toBe(-2);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await redis.get('short')).toBeNull();
    expect(await redis.exists('short')).toBe(0);
    expect(await redis.get('long')).toBe('stays');

    expect(await redis.expire('forever', 100)).toBe(1);
    expect(await redis.ttl('forever')).toBeGreaterThan(98);
    expect(await redis.pexpire('forever', 20)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await redis.get('forever')).toBeNull();
    expect(await redis.expire('missing', 10)).toBe(0);
  });

  it('counts with INCR / INCRBY / DECR and refuses non-integers', async () => {
    expect(await redis.incr('views')).toBe(1);
    expect(await redis.incrby('views', 41)).toBe(42);
    expect(await redis.decr('views')).toBe(41);
    await redis.set('word', 'abc');
    await expect(redis.incr('word')).rejects.toThrow(/ERR value is not an integer or out of range/);
  });

  it('answers MGET and MSET', async () => {
    expect(await redis.mset({ a: 1, b: 'two', c: { three: 3 } })).toBe('OK');
    expect(await redis.mget('a', 'b', 'c', 'nope')).toEqual([1, 'two', { three: 3 }, null]);
  });

  it('keeps recent-activity lists with LPUSH / LTRIM / LRANGE / LLEN', async () => {
    for (const item of ['p1', 'p2', 'p3', 'p4', 'p5']) {
      await redis.lpush('recent:u1', item);
    }
    expect(await redis.ltrim('recent:u1', 0, 2)).toBe('OK');
    expect(await redis.lrange('recent:u1', 0, -1)).toEqual(['p5', 'p4', 'p3']);
    expect(await redis.llen('recent:u1')).toBe(3);
    expect(await redis.rpush('recent:u1', 'p0')).toBe(4);
    expect(await redis.lrange('recent:u1', -2, -1)).toEqual(['p3', 'p0']);
  });

  it('stores hashes with HSET / HGET / HGETALL / HINCRBY / HDEL', async () => {
    expect(await redis.hset('user:1', { name: 'Ada', visits: 1, prefs: { lang: 'en' } })).toBe(3);
    expect(await redis.hget('user:1', 'name')).toBe('Ada');
    expect(await redis.hincrby('user:1', 'visits', 4)).toBe(5);
    expect(await redis.hgetall('user:1')).toEqual({ name: 'Ada', visits: 5, prefs: { lang: 'en' } });
    expect(await redis.hdel('user:1', 'prefs', 'absent')).toBe(1);
    expect(await redis.hgetall('user:1')).toEqual({ name: 'Ada', visits: 5 });
    expect(await redis.hgetall('no-such-hash')).toBeNull();
  });

  it('ranks with sorted sets: ZADD / ZINCRBY / ZRANGE (REV, WITHSCORES) / ZREM', async () => {
    expect(
      await redis.zadd(
        'bestsellers',
        { score: 3, member: 'item-a' },
        { score: 1.5, member: 'item-b' },
        { score: 7, member: 'item-c' },
      ),
    ).toBe(3);
    expect(await redis.zincrby('bestsellers', 5, 'item-b')).toBe(6.5);
    expect(await redis.zrange('bestsellers', 0, -1)).toEqual(['item-a', 'item-b', 'item-c']);
    expect(await redis.zrange('bestsellers', 0, 1, { rev: true, withScores: true })).toEqual([
      'item-c',
      7,
      'item-b',
      6.5,
    ]);
    expect(await redis.zrange('bestsellers', 2, 6.5, { byScore: true })).toEqual(['item-a', 'item-b']);
    expect(await redis.zrem('bestsellers', 'item-a', 'absent')).toBe(1);
    expect(await redis.zscore('bestsellers', 'item-c')).toBe(7);
    expect(await redis.zcard('bestsellers')).toBe(2);
  });

  it('keeps sets with SADD / SMEMBERS / SISMEMBER / SREM', async () => {
    expect(await redis.sadd('seen', 'x', 'y', 'x')).toBe(2);
    expect((await redis.smembers('seen')).sort()).toEqual(['x', 'y']);
    expect(await redis.sismember('seen', 'x')).toBe(1);
    expect(await redis.srem('seen', 'x')).toBe(1);
    expect(await redis.sismember('seen', 'x')).toBe(0);
  });

  it('reports WRONGTYPE as an error the client throws', async () => {
    await redis.lpush('a-list', 'v');
    await expect(redis.get('a-list')).rejects.toThrow(/WRONGTYPE/);
  });

  it('runs pipelines in order and reports a failing command without stopping the others', async () => {
    const results = await redis
      .pipeline()
      .set('p', 1)
      .incr('p')
      .get('p')
      .lpush('pl', 'a', 'b')
      .lrange('pl', 0, -1)
      .exec();
    expect(results).toEqual(['OK', 2, 2, 2, ['b', 'a']]);

    const withError = await redis
      .pipeline()
      .set('word', 'abc')
      .incr('word')
      .set('after', 'still runs')
      .exec({ keepErrors: true });
    expect(withError[1]?.error).toMatch(/ERR value is not an integer/);
    expect(withError[2]?.result).toBe('OK');
    expect(await redis.get('after')).toBe('still runs');
  });

  it('runs MULTI/EXEC transactions and applies all of them together', async () => {
    const results = await redis.multi().set('balance', 10).incrby('balance', 5).get('balance').exec();
    expect(results).toEqual(['OK', 15, 15]);
  });

  it('discards the whole transaction when a command is refused before EXEC', async () => {
    await redis.set('balance', 10);
    // GET with no key has the wrong arity: Redis refuses it when queued, so nothing runs.
    const refused = fetch(`${server.url}/multi-exec`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.token}` },
      body: JSON.stringify([['INCRBY', 'balance', '5'], ['SET', 'other', 'x'], ['GET']]),
    });
    const response = await refused;
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/^EXECABORT/);
    expect(await redis.get('balance')).toBe(10);
    expect(await redis.get('other')).toBeNull();
  });

  it('reports a runtime error inside a transaction while the other commands still apply', async () => {
    await redis.set('word', 'abc');
    await expect(redis.multi().set('t1', 'one').incr('word').set('t2', 'two').exec()).rejects.toThrow(
      /Command 2 \[ incr \] failed: ERR value is not an integer/,
    );
    expect(await redis.mget('t1', 't2')).toEqual(['one', 'two']);
  });

  it('lists keys with KEYS and SCAN (MATCH, COUNT) and counts them with DBSIZE', async () => {
    const keys = Array.from({ length: 25 }, (_, index) => `cache:user:${index}`);
    await redis.mset(Object.fromEntries(keys.map((key) => [key, 1])));
    await redis.set('other', 1);
    expect(await redis.dbsize()).toBe(26);
    expect((await redis.keys('cache:user:1*')).sort()).toEqual(
      ['cache:user:1', ...Array.from({ length: 10 }, (_, i) => `cache:user:1${i}`)].sort(),
    );
    const seen = new Set<string>();
    let cursor: string | number = 0;
    let rounds = 0;
    do {
      const [next, batch]: [string | number, string[]] = await redis.scan(cursor, {
        match: 'cache:*',
        count: 5,
      });
      for (const key of batch) seen.add(key);
      cursor = next;
      rounds++;
    } while (String(cursor) !== '0' && rounds < 100);
    expect([...seen].sort()).toEqual([...keys].sort());
  });

  it('answers PING', async () => {
    expect(await redis.ping()).toBe('PONG');
  });

  it('makes the client throw on a wrong token', async () => {
    const intruder = new Redis({ url: server.url, token: `${server.token}x`, retry: false });
    // Upstash's own words, so a handler matching them locally matches them on Upstash.
    await expect(intruder.get('anything')).rejects.toThrow(/^WRONGPASS invalid or missing auth token/);
    await expect(intruder.pipeline().get('a').exec()).rejects.toThrow(
      /^WRONGPASS invalid or missing auth token/,
    );
  });

  it('serves a client that asks for plain JSON responses (no base64)', async () => {
    const plain = new Redis({ url: server.url, token: server.token, responseEncoding: false, retry: false });
    await plain.set('plain', 'ünïcödé 😀');
    expect(await plain.get('plain')).toBe('ünïcödé 😀');
    expect(await plain.lrange('missing-list', 0, -1)).toEqual([]);
  });
}

describe('local Upstash server with the redis-server backend (@upstash/redis client)', () => {
  clientSuite('redis-server');
});

describe('local Upstash server with the in-memory backend (@upstash/redis client)', () => {
  clientSuite('memory');
});
