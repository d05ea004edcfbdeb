import type { Redis } from '@upstash/redis/cloudflare';
import { log } from '../log';
import { redactSecrets } from '../redact';

/**
 * The cache's two Lua scripts: the lookup (read-only, EVALSHA_RO) and the conditional write
 * (EVALSHA). Each is one round trip, and each has a plain-command fallback for a server that runs
 * no scripts (see `scriptingUnavailable`).
 *
 * Entries are written by storeRecommendations as `{"g":…,"source":…,"items":[…],"f":…}` for an
 * anonymous shopper (or a logged-in one without a known anonymous session) and
 * `{"g":…,"s":…,"source":…,"items":[…],"f":…}` for a logged-in one with a session (`g`: the shopper's
 * generation, `s`: that session's generation, `f`: fresh until, epoch ms; recommendation-cache.ts; the
 * session itself is named by the key, see keys.ts `recommendationKey`). The scripts read these fields
 * from the text without a JSON library, with patterns anchored at the ends of the text, where nothing
 * inside a title or URL can be. An entry that does not match, for whatever reason, is no fresh hit for
 * the lookup (the worker then decides with its own parser) and no newer entry for the write.
 *
 * Both begin with Upstash's `allow-key-locking` shebang flag. Without it Upstash runs a script under its
 * global lock, so no other command of the database (any shopper's lookup, the consumer's writes) runs
 * while it does (https://upstash.com/docs/redis/features/key-locking); with it, only the keys given in
 * KEYS are locked, which is why every key the scripts touch comes in KEYS and none is built inside them.
 * A server that does not know the flag (stock Redis 7 says "Unexpected flag in script shebang", Redis 6
 * cannot compile a shebang) gets the same script without its shebang line from then on
 * (`noteScriptingRefused`); the local Upstash server takes the flag out itself, as redis-server lacks it.
 */

/**
 * The cache lookup, so a lookup is one round trip and a fresh hit carries only what it serves.
 *
 * KEYS: generation, entry, activity, purchases[, the anonymous session's generation, its activity, its
 * purchases] (the last three for a logged-in shopper with a session only: up to seven keys).
 * ARGV: now (epoch ms), how many activity entries to read.
 *
 * - A fresh hit (entry at the current generation and, with a session, at the session's current
 *   generation; fresh until after `now`) answers `{generation, entry[, session generation]}`.
 * - Anything else answers `{generation, entry, activity, purchases[, session generation, session
 *   activity, session purchases]}`: what the model needs for a miss or a background refresh, in the
 *   same round trip.
 *
 * Compared with the pipeline it replaces, a fresh hit (most page views of a returning shopper) no longer
 * ships up to 2 × ACTIVITY_MAX activity entries and the purchase set to the worker, and is billed 3 commands
 * instead of 4 (4 instead of 7 with a session): Upstash counts the EVALSHA and each command the script
 * runs (its rate-limit SDK's cost table bills a script's `EVAL, INCR` as 2), so a miss costs one more
 * than the pipeline would (5 against 4). Read-only (`_RO`), so an Upstash Global database answers it
 * from the nearest read replica, like the GETs it replaces.
 */
export const LOOKUP_SCRIPT = `#!lua flags=no-writes,allow-key-locking
local generation = redis.call('GET', KEYS[1])
local entry = redis.call('GET', KEYS[2])
local session = false
if KEYS[5] then session = redis.call('GET', KEYS[5]) end
local function current(text)
  local f = tonumber(string.match(text, ',"f":(%d+)}$') or '')
  if not f or f <= tonumber(ARGV[1]) then return false end
  if KEYS[5] then
    local g, s = string.match(text, '^{"g":(%d+),"s":(%d+),')
    return g ~= nil and tonumber(g) == tonumber(generation or '0') and tonumber(s) == tonumber(session or '0')
  end
  local g = string.match(text, '^{"g":(%d+),')
  return g ~= nil and tonumber(g) == tonumber(generation or '0')
end
if entry and current(entry) then
  if KEYS[5] then return {generation, entry, session} end
  return {generation, entry}
end
local last = tonumber(ARGV[2]) - 1
local reply = {generation, entry, redis.call('LRANGE', KEYS[3], 0, last), redis.call('SMEMBERS', KEYS[4])}
if KEYS[5] then
  reply[5] = session
  reply[6] = redis.call('LRANGE', KEYS[6], 0, last)
  reply[7] = redis.call('SMEMBERS', KEYS[7])
end
return reply
`;

/**
 * The conditional write of an entry. It is written unless:
 * - its stamp is ahead of a generation key it was read from (`g` above the shopper's generation, or `s`
 *   above the session's): the key expired, or was deleted, since the lookup, so the stamp names a count
 *   that no longer exists and the entry would outlive it (see below);
 * - the entry stored under the key is newer, so a slow request (a background refresh whose model ran
 *   while an event moved the generation and another request stored the newer list) cannot replace the
 *   newer entry with its older one. Newer: the stored `g` is greater, or at the same `g` (a logged-in
 *   shopper's entry, one per session) the stored `s` is. A stored entry stamped above a generation
 *   key's current count is not newer but orphaned: that key was deleted or evicted (not expired, which
 *   takes the entries with it, below) after the entry was written, so its count is gone for good and the
 *   entry, a miss for every lookup, is replaced instead of turning every write away until its TTL ends.
 * And it lives no longer than those generation keys (its expiry is cut to theirs, PTTL): when a
 * generation key expires (the consumer EXPIREs it ACTIVITY_DAYS, or ACTIVITY_DAYS_SIGNED_IN for a user id's,
 * after its last INCR; a logged-in shopper's entry is cut to the shorter of its two), every entry stamped with
 * its count is gone too. Otherwise an entry stamped `g: N` would outlive a counter back at 0, turn away
 * every new entry (stamped 0) as "newer" until its own TTL ran out (each request a miss running the
 * model), and look current again once the counter climbed back to N.
 *
 * KEYS: the entry, the shopper's generation[, the session's generation].
 * ARGV: the new entry's text, its TTL (milliseconds), its `g`[, its `s`].
 * Answers 1 when it wrote, 0 when it did not.
 */
export const STORE_SCRIPT = `#!lua flags=allow-key-locking
local px = tonumber(ARGV[2])
local function count(key, stamp)
  local current = tonumber(redis.call('GET', key) or '0') or 0
  if tonumber(stamp) > current then return false end
  local ttl = redis.call('PTTL', key)
  if ttl > 0 and ttl < px then px = ttl end
  return current
end
local generation = count(KEYS[2], ARGV[3])
if not generation then return 0 end
local session = nil
if KEYS[3] then
  session = count(KEYS[3], ARGV[4])
  if not session then return 0 end
end
local stored = redis.call('GET', KEYS[1])
if stored then
  local g = tonumber(string.match(stored, '^{"g":(%d+),') or '')
  local s = tonumber(string.match(stored, '^{"g":%d+,"s":(%d+),') or '')
  local orphaned = (g and g > generation) or (s and session and s > session)
  if not orphaned then
    if g and g > tonumber(ARGV[3]) then return 0 end
    if g == tonumber(ARGV[3]) and ARGV[4] and s and s > tonumber(ARGV[4]) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
return 1
`;

/** What we use of @upstash/redis's Script/ScriptRO: EVALSHA(_RO), then EVAL(_RO) once if the server lacks it. */
type CacheScript = { exec(keys: string[], args: string[]): Promise<unknown> };

/** Which script: the read-only lookup or the write. */
export type ScriptKind = 'lookup' | 'store';

const SCRIPT_TEXT: Record<ScriptKind, string> = { lookup: LOOKUP_SCRIPT, store: STORE_SCRIPT };
const scripts = { lookup: new WeakMap<Redis, CacheScript>(), store: new WeakMap<Redis, CacheScript>() };
const withoutScripting = { lookup: new WeakSet<Redis>(), store: new WeakSet<Redis>() };
/** Clients whose server refused the shebang: they send the scripts without it. */
const withoutShebang = new WeakSet<Redis>();

/** A script's text without its shebang line: the same Lua, which any Redis since 2.6 runs. */
export function withoutShebangLine(text: string): string {
  return text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1) : text;
}

function cacheScript(redis: Redis, kind: ScriptKind): CacheScript {
  let script = scripts[kind].get(redis);
  if (!script) {
    const text = withoutShebang.has(redis) ? withoutShebangLine(SCRIPT_TEXT[kind]) : SCRIPT_TEXT[kind];
    script =
      kind === 'lookup'
        ? redis.createScript<unknown, true>(text, { readonly: true })
        : redis.createScript<unknown>(text);
    scripts[kind].set(redis, script);
  }
  return script;
}

/** The lookup script for a client (its SHA-1 is computed once per client). */
export function lookupScript(redis: Redis): CacheScript {
  return cacheScript(redis, 'lookup');
}

/** The conditional-write script for a client (its SHA-1 is computed once per client). */
export function storeScript(redis: Redis): CacheScript {
  return cacheScript(redis, 'store');
}

/**
 * Whether this client's server has shown it cannot run the script of this kind: a Redis before 7.0
 * (no `EVALSHA_RO`: the lookup only) or a REST server without scripting, such as the local server's
 * in-memory backend. Such a client reads with the pipeline, and writes with a GET then a SET, from then on.
 */
export function scriptingUnavailable(redis: Redis, kind: ScriptKind = 'lookup'): boolean {
  return withoutScripting[kind].has(redis);
}

/** Whether this client's server refused the scripts' shebang, so they are sent without it. */
export function shebangRefused(redis: Redis): boolean {
  return withoutShebang.has(redis);
}

/**
 * Records that the server refused the script's commands, or its shebang, when `error` says so; true if
 * it did (the caller then reads or writes with plain commands this once).
 */
export function noteScriptingRefused(redis: Redis, error: unknown, kind: ScriptKind = 'lookup'): boolean {
  const message = error instanceof Error ? error.message : String(error);
  // Only the server's own words: the client appends the command (`, command was: [...]`, the store's
  // includes the entry, product titles and all), and Redis its first arguments. A failure of any kind
  // for an entry with a product titled "Shebang Hot Sauce" must not switch the scripts off.
  const refusal = redactSecrets(message).split(/,\s*with args beginning with/i)[0] ?? '';
  // Stock Redis 7: "Unexpected flag in script shebang: allow-key-locking"; Redis 6: "Error compiling
  // script (...): user_script:1: unexpected symbol near '#'". Only once: the script without the line
  // failing as well is an error of its own.
  if (!withoutShebang.has(redis) && /shebang|compiling script/i.test(refusal)) {
    withoutShebang.add(redis);
    scripts.lookup.delete(redis);
    scripts.store.delete(redis);
    log('info', 'cache_script_flags_refused', {
      script: kind,
      fallback: 'script without shebang',
      error: message.split(',')[0],
    });
    return true;
  }
  // Stock Redis says "unknown command"; Upstash, for a command it does not offer, "Command is not available".
  if (!/unknown command|unknown subcommand|command is not available/i.test(refusal)) return false;
  withoutScripting[kind].add(redis);
  // Only the refusal itself: the rest of Redis's message repeats the command's arguments (keys).
  log('info', 'cache_scripts_unavailable', {
    script: kind,
    fallback: kind === 'lookup' ? 'pipeline' : 'get-then-set',
    error: message.split(',')[0],
  });
  return true;
}
