import type { Redis } from '@upstash/redis/cloudflare';
import { log } from '../log';

/**
 * The cache lookup as one read-only Lua script (EVALSHA_RO), so a lookup is one Redis command and a
 * fresh hit carries only what it serves.
 *
 * KEYS: generation, entry, activity, purchases[, the anonymous session's activity, its purchases].
 * ARGV: now (epoch ms), how many activity entries to read.
 *
 * - A fresh hit (entry at the current generation, fresh until after `now`) answers `{generation, entry}`.
 * - Anything else answers `{generation, entry, activity, purchases[, session activity, session
 *   purchases]}`: what the
 *   model needs for a miss or a background refresh, in the same round trip.
 *
 * Compared with the five-command pipeline it replaces, a fresh hit (most page views of a returning
 * shopper) no longer ships up to 2 × 50 activity entries and the purchase set to the worker, and
 * Upstash bills one command per lookup instead of four or five. Read-only (`_RO`), so an Upstash
 * Global database answers it from the nearest read replica, like the GETs it replaces.
 *
 * The script reads `g` and `f` from the entry's text without a JSON library: the worker writes entries
 * as `{"g":…,"source":…,"items":[…],"f":…}` (storeRecommendations), and both patterns are anchored at
 * the ends of the text, where nothing inside a title or URL can be. An entry that does not match, for
 * whatever reason, takes the long answer; the worker then decides with its own parser, as before.
 */
export const LOOKUP_SCRIPT = `
local generation = redis.call('GET', KEYS[1])
local entry = redis.call('GET', KEYS[2])
if entry then
  local g = string.match(entry, '^{"g":(%d+),')
  local f = string.match(entry, ',"f":(%d+)}$')
  if g and f and tonumber(g) == tonumber(generation or '0') and tonumber(f) > tonumber(ARGV[1]) then
    return {generation, entry}
  end
end
local last = tonumber(ARGV[2]) - 1
local reply = {generation, entry, redis.call('LRANGE', KEYS[3], 0, last), redis.call('SMEMBERS', KEYS[4])}
if KEYS[5] then reply[5] = redis.call('LRANGE', KEYS[5], 0, last) end
if KEYS[6] then reply[6] = redis.call('SMEMBERS', KEYS[6]) end
return reply
`;

/** What we use of @upstash/redis's ScriptRO: EVALSHA_RO, then EVAL_RO once if the server lacks it. */
type LookupScript = { exec(keys: string[], args: string[]): Promise<unknown> };

const scripts = new WeakMap<Redis, LookupScript>();
const withoutScripting = new WeakSet<Redis>();

/** The lookup script for a client (its SHA-1 is computed once per client). */
export function lookupScript(redis: Redis): LookupScript {
  let script = scripts.get(redis);
  if (!script) {
    script = redis.createScript<unknown, true>(LOOKUP_SCRIPT, { readonly: true });
    scripts.set(redis, script);
  }
  return script;
}

/**
 * Whether this client's server has shown it cannot run the script: a Redis before 7.0 (no `EVALSHA_RO`)
 * or a REST server without scripting, such as the local server's in-memory backend. Such a client reads
 * with the pipeline from then on.
 */
export function scriptingUnavailable(redis: Redis): boolean {
  return withoutScripting.has(redis);
}

/** Records that the server refused the script's commands, when `error` says so; true if it did. */
export function noteScriptingRefused(redis: Redis, error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  if (!/unknown command|unknown subcommand/i.test(message)) return false;
  withoutScripting.add(redis);
  // Only the refusal itself: the rest of Redis's message repeats the command's arguments (keys).
  log('info', 'cache_scripts_unavailable', { fallback: 'pipeline', error: message.split(',')[0] });
  return true;
}
