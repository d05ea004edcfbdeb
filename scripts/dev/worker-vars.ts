/**
 * Which environment variables reach the worker under `npm start`: every string setting or secret of
 * the worker's `Env` interface (worker/src/env.ts). The names are read from that file, so a setting
 * added there is passed through without touching the dev stack.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ENV_FILE = fileURLToPath(new URL('../../worker/src/env.ts', import.meta.url));

/** Names of the `Env` fields typed `string` (settings and secrets; bindings are other types). */
export function workerConfigNames(source = readFileSync(ENV_FILE, 'utf8')): string[] {
  const names = [...source.matchAll(/^\s+([A-Z][A-Z0-9_]*)\??:\s*string;/gm)].map((match) => match[1] ?? '');
  return [...new Set(names.filter(Boolean))];
}

/** The worker settings present (non-empty) in `env`, e.g. `ORIGIN_URL`, `HOLDOUT_PERCENT`, `RX_SLOTS`. */
export function workerVarsFromEnv(
  env: NodeJS.ProcessEnv,
  names = workerConfigNames(),
): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') vars[name] = value;
  }
  return vars;
}
