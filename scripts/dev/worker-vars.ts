/**
 * Which environment variables reach the worker under `npm start`: every string setting or secret of
 * the worker's `Env` interface (worker/src/env.ts). The names are read from that file, so a setting
 * added there is passed through without touching the dev stack.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type StartVars, startVars } from './wrangler-config';

const ENV_FILE = fileURLToPath(new URL('../../worker/src/env.ts', import.meta.url));

/** Names of the `Env` fields typed `string` (settings and secrets; bindings are other types). */
export function workerConfigNames(source = readFileSync(ENV_FILE, 'utf8')): string[] {
  const names = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]*)\??:\s*string;/gm)].map((match) => match[1] ?? '');
  return [...new Set(names.filter(Boolean))];
}

/**
 * The worker settings set in `env`, e.g. `ORIGIN_URL`, `HOLDOUT_PERCENT`, `RX_SLOTS`. An empty one is
 * kept when wrangler.toml's `[vars]` (`fileVars`) has that setting: wrangler dev applies the file's
 * `[vars]` under what npm start passes, so dropping it left the file's value (`HOLDOUT_PERCENT= npm
 * start` kept the file's 10), where an empty setting means its default. Other empty ones are left
 * out: unset is the default already, and the stack fills some (MONGODB_URI, UPSTASH_REDIS_REST_*, the
 * dev secrets) that an empty value would blank.
 */
export function workerVarsFromEnv(
  env: NodeJS.ProcessEnv,
  fileVars: Record<string, string> = {},
  names = workerConfigNames(),
): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    if (value !== '' || Object.hasOwn(fileVars, name)) vars[name] = value;
  }
  return vars;
}

/**
 * `startVars` for `npm start`: the environment's settings (workerVarsFromEnv) over wrangler.toml's
 * `[vars]`, where a setting the environment has, even empty, takes the file's out of the choice of
 * origin: `ORIGIN_URL= npm start` runs the demo shop, as with no `ORIGIN_URL` in the file, rather than
 * proxying the file's. `fromEnvironment`: the names the summary lists.
 */
export function startVarsFromEnv(
  env: NodeJS.ProcessEnv,
  fileVars: Record<string, string>,
  names = workerConfigNames(),
): StartVars & { fromEnvironment: Record<string, string> } {
  const fromEnvironment = workerVarsFromEnv(env, fileVars, names);
  const fileOnly = Object.fromEntries(
    Object.entries(fileVars).filter(([name]) => !Object.hasOwn(fromEnvironment, name)),
  );
  return { ...startVars(fromEnvironment, fileOnly), fromEnvironment };
}
