/**
 * The cache lookup's one budget (worker/src/cache/recommendation-cache.ts): when the script's answer
 * leads to a second read (the worker refuses an entry the script took for a fresh hit, or the server
 * refuses scripts), that read gets what is left of the budget, not a budget of its own. A client
 * stand-in here, because the point is the timing of two replies, which a real server cannot be made
 * to hold (on fake timers, so the timing is exact whatever the machine's load); the reads themselves
 * are tested against redis-server in cache-lookup.integration.test.ts.
 */
import type { Redis } from '@upstash/redis/cloudflare';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  scriptingUnavailable,
  shebangRefused,
  withoutShebangLine,
} from '../../worker/src/cache/lookup-script';
import { lookupRecommendations } from '../../worker/src/cache/recommendation-cache';
import { CacheTimeoutError } from '../../worker/src/cache/redis-client';

const BUDGET_MS = 50;
const parts = {
  site: 'budget',
  userHash: 'h',
  placement: 'home',
  context: 'l=4',
  modelVersion: 'v',
  bucket: 'treatment',
};

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

/** A client whose script answers after `scriptMs` with `scriptReply` and whose pipeline after `pipelineMs`. */
function client(scriptMs: number, scriptReply: () => Promise<unknown>, pipelineMs: number) {
  const reads = { pipelines: 0 };
  const pipeline = {
    get: () => pipeline,
    lrange: () => pipeline,
    smembers: () => pipeline,
    exec: () => {
      reads.pipelines++;
      return after(pipelineMs, [null, null, [], []]);
    },
  };
  const redis = {
    createScript: () => ({ exec: () => after(scriptMs, undefined).then(scriptReply) }),
    pipeline: () => pipeline,
  } as unknown as Redis;
  return { redis, reads };
}

// Matches the script's patterns, fails the worker's schema: the worker reads again.
const refusedEntry = () =>
  Promise.resolve([null, `{"g":0,"source":"bogus","items":[],"f":${Date.now() + 60_000}}`]);
const refusedScript = () => Promise.reject(new Error('ERR unknown command `EVALSHA_RO`'));

describe('one budget for the whole lookup', () => {
  // Fake timers (and Date): the replies come exactly when they are scheduled, so 35 + 30 ms against a
  // budget of 50 is decided by the lookup's arithmetic, not by how busy the machine is.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const [name, reply] of [
    ['an entry the worker refuses', refusedEntry],
    ['a server that refuses scripts', refusedScript],
  ] as const) {
    it(`after ${name}, the second read gets only what is left: 35 + 30 ms does not fit in ${BUDGET_MS}`, async () => {
      const { redis, reads } = client(35, reply, 30);
      const timedOut = expect(lookupRecommendations(redis, parts, 'h', BUDGET_MS)).rejects.toBeInstanceOf(
        CacheTimeoutError,
      );
      // Every reply and timeout comes: the pipeline's at 65 ms, in time had it been given a budget of
      // its own, after the 50 ms the lookup has.
      await vi.runAllTimersAsync();
      await timedOut;
      expect(reads.pipelines).toBe(1);
    });
  }

  it('the second read still answers when the budget has room for it', async () => {
    const { redis, reads } = client(5, refusedEntry, 5);
    const lookup = lookupRecommendations(redis, parts, 'h', BUDGET_MS);
    await vi.runAllTimersAsync();
    const found = await lookup;
    expect(found.fresh).toBe(false);
    expect(reads.pipelines).toBe(1);
  });
});

describe('a server that refuses scripts', () => {
  // Stock Redis before 7.0 says "unknown command"; Upstash says "Command is not available" (the
  // client appends the command it sent). Either way the lookup reads with the pipeline instead of
  // counting every lookup as a cache failure.
  for (const message of [
    'ERR unknown command `EVALSHA_RO`, with args beginning with: ',
    'ERR Command is not available: \'EVALSHA_RO\'. See https://upstash.com/docs/redis/overall/rediscompatibility for details, command was: ["evalsha_ro"]',
  ]) {
    it(`falls back to the pipeline on "${message.slice(0, 40)}…"`, async () => {
      const { redis, reads } = client(1, () => Promise.reject(new Error(message)), 1);
      const found = await lookupRecommendations(redis, parts, 'h', BUDGET_MS);
      expect(found.fresh).toBe(false);
      expect(reads.pipelines).toBe(1);
      expect(scriptingUnavailable(redis)).toBe(true);
    });
  }
});

describe('a server that refuses the scripts’ shebang (Upstash’s allow-key-locking flag)', () => {
  // Stock Redis 7 behind another REST proxy says the first; Redis 6 cannot compile a shebang at all.
  for (const message of [
    'ERR Unexpected flag in script shebang: allow-key-locking',
    "ERR Error compiling script (new function): user_script:1: unexpected symbol near '#'",
  ]) {
    it(`reads with the pipeline once, then sends the same Lua without the line, on "${message.slice(0, 40)}…"`, async () => {
      const texts: string[] = [];
      let pipelines = 0;
      const pipeline = {
        get: () => pipeline,
        lrange: () => pipeline,
        smembers: () => pipeline,
        exec: () => {
          pipelines++;
          return Promise.resolve([null, null, [], []]);
        },
      };
      const redis = {
        createScript: (text: string) => {
          texts.push(text);
          const flagged = text.startsWith('#!');
          return {
            exec: () =>
              flagged ? Promise.reject(new Error(message)) : Promise.resolve([null, null, [], []]),
          };
        },
        pipeline: () => pipeline,
      } as unknown as Redis;

      expect((await lookupRecommendations(redis, parts, 'h', BUDGET_MS)).fresh).toBe(false);
      expect(pipelines).toBe(1);
      expect(shebangRefused(redis)).toBe(true);
      expect(scriptingUnavailable(redis)).toBe(false);

      expect((await lookupRecommendations(redis, parts, 'h', BUDGET_MS)).fresh).toBe(false);
      expect(pipelines).toBe(1);
      expect(texts).toHaveLength(2);
      expect(texts[0]?.split('\n')[0]).toBe('#!lua flags=no-writes,allow-key-locking');
      expect(texts[1]).toBe(withoutShebangLine(texts[0] ?? ''));
      expect(texts[1]?.startsWith('#!')).toBe(false);
    });
  }
});

describe('an error that only quotes those words', () => {
  // The client appends the command to its error, and the store's command carries the entry (product
  // titles); Redis's own "with args beginning with" repeats arguments too. Neither is a refusal.
  for (const message of [
    'ERR max requests limit exceeded, command was: ["evalsha","x",2,"k","g","{\\"title\\":\\"Shebang Hot Sauce\\"}"]',
    'WRONGTYPE Operation against a key holding the wrong kind of value, command was: ["evalsha_ro","unknown command"]',
    "ERR wrong number of arguments for 'evalsha_ro', with args beginning with: 'Error compiling script' ",
  ]) {
    it(`keeps the scripts and their shebang on "${message.slice(0, 40)}…"`, async () => {
      const { redis, reads } = client(1, () => Promise.reject(new Error(message)), 1);
      await expect(lookupRecommendations(redis, parts, 'h', BUDGET_MS)).rejects.toThrow(message);
      expect(reads.pipelines).toBe(0);
      expect(shebangRefused(redis)).toBe(false);
      expect(scriptingUnavailable(redis)).toBe(false);
    });
  }
});
