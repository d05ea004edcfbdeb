/**
 * Credentials of the local stack (PRICE_SIGNING_KEY, ADMIN_TOKEN, USER_HASH_KEY): random on first
 * start, kept in .rx-data/dev-secrets.json (gitignored, owner-only) so price tokens and admin calls
 * keep working across a restart and shoppers' keys (hashed with USER_HASH_KEY) stay the same; the
 * local cache itself starts empty on every start. A file from before one of
 * them existed gets the missing one added and keeps the others. The file is replaced atomically (a
 * crash leaves the old one or the new one, never half of one); one that cannot be read is kept as
 * `dev-secrets.json.damaged` and named in a warning before new secrets are made. They protect
 * nothing but a developer's own machine; production ones are `wrangler secret put`.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export interface DevSecrets {
  PRICE_SIGNING_KEY: string;
  ADMIN_TOKEN: string;
  USER_HASH_KEY: string;
}

function fresh(): DevSecrets {
  return {
    PRICE_SIGNING_KEY: randomBytes(32).toString('base64url'),
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    USER_HASH_KEY: randomBytes(32).toString('base64url'),
  };
}

/**
 * The stored secrets that are non-empty strings, over fresh ones; `complete` when none was missing.
 * A secret that is there but not a non-empty string is replaced with a warning naming it.
 */
function merged(stored: unknown, file: string): { secrets: DevSecrets; complete: boolean } {
  const secrets = fresh();
  let complete = true;
  const given = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  for (const name of Object.keys(secrets) as Array<keyof DevSecrets>) {
    const value = given[name];
    if (typeof value === 'string' && value !== '') secrets[name] = value;
    else {
      complete = false;
      if (value !== undefined)
        console.warn(`rx: ${name} in ${file} is not a non-empty string; made a new one`);
    }
  }
  return { secrets, complete };
}

/**
 * Writes `text` to `file` so that a crash leaves either the old file or the new one: a temporary
 * file in the same folder, owner-only, synced, then renamed over.
 */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeFileSync(fd, text); // writes all of it, however many writes that takes
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** The file's content, or undefined when it does not exist; warns when it exists but is unusable. */
function readStored(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`could not read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let problem: string;
  try {
    const stored: unknown = JSON.parse(text);
    if (typeof stored === 'object' && stored !== null && !Array.isArray(stored)) return stored;
    problem = 'it is not a JSON object';
  } catch (error) {
    problem = `it is not valid JSON (${(error as Error).message})`;
  }
  const kept = `${file}.damaged`;
  copyFileSync(file, kept);
  console.warn(
    `rx: ${file} is damaged (${problem}); made new PRICE_SIGNING_KEY, ADMIN_TOKEN and USER_HASH_KEY, ` +
      `so earlier price tokens and admin tokens no longer work and shoppers' cached state starts afresh. ` +
      `The damaged file is kept as ${kept}.`,
  );
  return undefined;
}

/**
 * Loads the dev secrets from `dir`, creating the file when missing and adding any secret it lacks
 * (the others are kept). A file that exists but cannot be parsed is named in a warning and kept
 * aside before new secrets replace it; one that cannot be read stops the start. Without `dir`,
 * fresh ones.
 */
export function loadDevSecrets(dir?: string): DevSecrets {
  if (!dir) return fresh();
  const file = path.join(dir, 'dev-secrets.json');
  const { secrets, complete } = merged(readStored(file), file);
  if (complete) return secrets;
  mkdirSync(dir, { recursive: true });
  writeAtomically(file, `${JSON.stringify(secrets, null, 2)}\n`);
  return secrets;
}
