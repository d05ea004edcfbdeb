/**
 * What `npm start` takes from wrangler.toml's `[vars]`: the origin a retailer set there (docs/proxy.md
 * step 2), so `npm start` proxies it as `wrangler dev` would, rather than the demo shop. Parsed with a
 * TOML parser (README "Dependencies and why": `smol-toml`), since a retailer may write the table in
 * any form TOML allows (literal or basic strings, escapes, comments, an inline `vars = { ... }`).
 */
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';

/** The repository's wrangler.toml: the one `startWranglerDev` runs by default. */
export const WRANGLER_TOML = fileURLToPath(new URL('../../wrangler.toml', import.meta.url));

/**
 * The string entries of the top-level `vars` table (the ones `wrangler dev` uses without `--env`;
 * `[env.NAME.vars]` are not read). Values of other types (wrangler allows JSON values there) are left
 * out: no setting of the worker is one. Throws, naming the file, when the text is not valid TOML.
 */
export function wranglerVars(text: string, file = 'wrangler.toml'): Record<string, string> {
  let document: Record<string, unknown>;
  try {
    document = parse(text);
  } catch (error) {
    // smol-toml's message is "Invalid TOML document: <why>" and then the lines around the place.
    const reason = (error instanceof Error ? error.message : String(error))
      .split('\n')[0]
      ?.replace(/^Invalid TOML document: /, '');
    const line = (error as { line?: unknown }).line;
    throw new Error(
      `${file} is not valid TOML: ${reason}${typeof line === 'number' ? ` (line ${line})` : ''}`,
    );
  }
  const table = document.vars;
  const vars: Record<string, string> = {};
  if (table === null || typeof table !== 'object' || Array.isArray(table)) return vars;
  for (const [name, value] of Object.entries(table)) {
    if (typeof value === 'string') vars[name] = value;
  }
  return vars;
}

/** Where the worker's origin comes from under `npm start`. */
export type OriginSource = 'environment' | 'wrangler.toml' | 'demo shop';

export interface StartVars {
  /** The variables to give `startStack` (its `workerVars`). */
  workerVars: Record<string, string>;
  /** `environment` or `wrangler.toml`: that origin, no demo shop; `demo shop`: startStack starts it. */
  originSource: OriginSource;
}

/** Set as the worker reads it: blank or only spaces is "not set" (worker/src/proxy/origin-url.ts). */
function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/**
 * The variables `npm start` passes to `startStack`: those from the environment, plus, when the
 * environment has no `ORIGIN_URL`, the one in wrangler.toml's `[vars]` (the environment wins over the
 * file, as for every setting). Without either, the demo shop runs; then the `SHOP_ORIGINS` of the
 * environment, else of the file, is passed on too, so startStack adds the demo shop's origin to it
 * rather than the env file it writes hiding the file's list.
 */
export function startVars(fromEnv: Record<string, string>, fromFile: Record<string, string>): StartVars {
  const workerVars = { ...fromEnv };
  if (isSet(fromEnv.ORIGIN_URL)) return { workerVars, originSource: 'environment' };
  if (isSet(fromFile.ORIGIN_URL)) {
    workerVars.ORIGIN_URL = fromFile.ORIGIN_URL;
    return { workerVars, originSource: 'wrangler.toml' };
  }
  if (!isSet(fromEnv.SHOP_ORIGINS) && isSet(fromFile.SHOP_ORIGINS))
    workerVars.SHOP_ORIGINS = fromFile.SHOP_ORIGINS;
  return { workerVars, originSource: 'demo shop' };
}
