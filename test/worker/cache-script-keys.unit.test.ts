/**
 * The cache scripts carry Upstash's `allow-key-locking` flag, under which Upstash locks only the keys
 * given in KEYS and refuses a script that touches any other (https://upstash.com/docs/redis/features/key-locking).
 * No local server enforces that rule, so it is checked here on the scripts' text: every key a
 * `redis.call` names must be a KEYS entry, never a name built inside the script.
 */
import { describe, expect, it } from 'vitest';
import { LOOKUP_SCRIPT, STORE_SCRIPT } from '../../worker/src/cache/lookup-script';

/** The key argument of each `redis.call('COMMAND', key, ...)` in a script. */
function keyArguments(script: string): string[] {
  return [...script.matchAll(/redis\.(?:p?call)\(\s*'[A-Z]+'\s*,\s*([^,)]+)/g)].map((match) =>
    (match[1] ?? '').trim(),
  );
}

describe('the cache scripts touch only keys given in KEYS', () => {
  for (const [name, script, flags] of [
    ['lookup', LOOKUP_SCRIPT, 'no-writes,allow-key-locking'],
    ['conditional write', STORE_SCRIPT, 'allow-key-locking'],
  ] as const) {
    it(`${name}: shebang flags ${flags}, and each redis.call's key is KEYS[n] or a parameter bound only to KEYS[n]`, () => {
      expect(script.split('\n')[0]).toBe(`#!lua flags=${flags}`);
      const keys = keyArguments(script);
      expect(keys.length).toBeGreaterThan(1);
      for (const key of keys) {
        if (/^KEYS\[\d\]$/.test(key)) continue;
        // A local function's parameter (the write's `count(key, stamp)`): every call of it must pass KEYS[n].
        const definition = script.match(new RegExp(`local function (\\w+)\\(${key}\\b`));
        expect(definition, `"${key}" is neither KEYS[n] nor a function parameter`).not.toBeNull();
        const callers = [...script.matchAll(new RegExp(`\\b${definition?.[1]}\\(([^,)]+)`, 'g'))]
          .map((match) => match[1]?.trim())
          .filter((argument) => argument !== key);
        expect(callers.length).toBeGreaterThan(0);
        for (const argument of callers) expect(argument).toMatch(/^KEYS\[\d\]$/);
      }
    });
  }
});
