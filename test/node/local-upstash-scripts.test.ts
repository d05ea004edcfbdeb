import { createHash } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalUpstash, startLocalUpstash } from '../../scripts/local-upstash/index.ts';
import { withoutUpstashOnlyFlags } from '../../scripts/local-upstash/script-flags.ts';

/**
 * Scripts carrying Upstash's `allow-key-locking` shebang flag (which the worker's cache scripts do, so
 * that on Upstash they lock only their own keys) run on the local server in front of redis-server, which
 * does not know the flag: through EVAL, EVALSHA with the client's own digest, SCRIPT LOAD/EXISTS, and
 * again after redis-server forgot its scripts.
 */

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');

const WRITE = "#!lua flags=allow-key-locking\nreturn redis.call('SET', KEYS[1], ARGV[1])";
const READ = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";

describe('Upstash-only script flags in front of redis-server', () => {
  let server: LocalUpstash;
  let redis: Redis;

  beforeAll(async () => {
    server = await startLocalUpstash({ backend: 'redis-server' });
    redis = new Redis({ url: server.url, token: server.token, retry: false });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await redis.flushdb();
    await redis.scriptFlush();
  });

  it('runs a script with allow-key-locking through EVAL and EVAL_RO', async () => {
    expect(await redis.eval(WRITE, ['k'], ['v'])).toBe('OK');
    expect(await redis.evalRo(READ, ['k'], [])).toBe('v');
  });

  it('keeps the script’s other flags: a write under no-writes fails, a script without it is no _RO script', async () => {
    await expect(
      redis.evalRo(
        "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('SET', KEYS[1], 'x')",
        ['k'],
        [],
      ),
    ).rejects.toThrow(/write command/i);
    await expect(redis.evalRo(WRITE, ['k'], ['v'])).rejects.toThrow(/write flag/i);
    expect(await redis.get('k')).toBeNull();
  });

  it('still refuses a flag neither Redis nor Upstash has', async () => {
    await expect(redis.eval('#!lua flags=no-such-flag\nreturn 1', [], [])).rejects.toThrow(
      /Unexpected flag in script shebang: no-such-flag/,
    );
  });

  it('answers SCRIPT LOAD with the digest of the body as sent, and runs EVALSHA and SCRIPT EXISTS by it', async () => {
    const digest = await redis.scriptLoad(WRITE);
    expect(digest).toBe(sha1(WRITE));
    expect(await redis.scriptExists(digest, sha1('return 0'))).toEqual([1, 0]);
    expect(await redis.evalsha(digest, ['k'], ['by digest'])).toBe('OK');
    expect(await redis.get('k')).toBe('by digest');
  });

  it('runs createScript (EVALSHA, then EVAL on NOSCRIPT) before and after the server forgot its scripts', async () => {
    const write = redis.createScript<string>(WRITE);
    const read = redis.createScript<string, true>(READ, { readonly: true });
    expect(await write.exec(['k'], ['first'])).toBe('OK');
    expect(await read.exec(['k'], [])).toBe('first');
    // EVALSHA by the client's digest now finds the script without its body being sent.
    expect(await redis.scriptExists(sha1(WRITE), sha1(READ))).toEqual([1, 1]);
    await redis.scriptFlush();
    expect(await redis.scriptExists(sha1(WRITE))).toEqual([0]);
    expect(await write.exec(['k'], ['second'])).toBe('OK');
    expect(await read.exec(['k'], [])).toBe('second');
  });

  it('forwards the same commands in pipelines and transactions', async () => {
    const pipeline = redis.pipeline();
    pipeline.eval(WRITE, ['k'], ['piped']);
    pipeline.evalsha(sha1(WRITE), ['k2'], ['piped by digest']);
    expect(await pipeline.exec()).toEqual(['OK', 'OK']);
    const multi = redis.multi();
    multi.scriptLoad(READ);
    multi.evalsha(sha1(READ), ['k2'], []);
    expect(await multi.exec()).toEqual([sha1(READ), 'piped by digest']);
  });
});

describe('withoutUpstashOnlyFlags', () => {
  it('takes only allow-key-locking out of the shebang and leaves the rest of the body byte for byte', () => {
    expect(withoutUpstashOnlyFlags('#!lua flags=no-writes,allow-key-locking\nreturn 1 -- é')).toBe(
      '#!lua flags=no-writes\nreturn 1 -- é',
    );
    expect(withoutUpstashOnlyFlags('#!lua flags=allow-key-locking,no-writes')).toBe('#!lua flags=no-writes');
    expect(withoutUpstashOnlyFlags('#!lua flags=allow-key-locking\nreturn 1')).toBe('#!lua flags=\nreturn 1');
  });

  it('leaves scripts without the flag alone', () => {
    expect(withoutUpstashOnlyFlags('return 1')).toBeUndefined();
    expect(withoutUpstashOnlyFlags('#!lua flags=no-writes\nreturn 1')).toBeUndefined();
    // The flag's name elsewhere in the body is not a flag.
    expect(withoutUpstashOnlyFlags("#!lua\nreturn 'flags=allow-key-locking'")).toBeUndefined();
  });
});
