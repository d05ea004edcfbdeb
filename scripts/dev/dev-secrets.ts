/**
 * Credentials of the local stack (PRICE_SIGNING_KEY, ADMIN_TOKEN, USER_HASH_KEY): random on first
 * start, kept in .rx-data/dev-secrets.json (gitignored, owner-only) so price tokens, admin calls and
 * the shoppers' cached state (keyed by USER_HASH_KEY) survive a restart. A file from before one of
 * them existed gets the missing one added and keeps the others. They protect nothing but a
 * developer's own machine; production ones are `wrangler secret put`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** The stored secrets that are non-empty strings, over fresh ones; `complete` when none was missing. */
function merged(stored: unknown): { secrets: DevSecrets; complete: boolean } {
  const secrets = fresh();
  let complete = true;
  const given = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  for (const name of Object.keys(secrets) as Array<keyof DevSecrets>) {
    const value = given[name];
    if (typeof value === 'string' && value !== '') secrets[name] = value;
    else complete = false;
  }
  return { secrets, complete };
}

/**
 * Loads the dev secrets from `dir`, creating the file when missing or unreadable and adding any secret
 * it lacks (the others are kept). Without `dir`, fresh ones.
 */
export function loadDevSecrets(dir?: string): DevSecrets {
  if (!dir) return fresh();
  const file = path.join(dir, 'dev-secrets.json');
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // Missing or corrupt: all new below.
  }
  const { secrets, complete } = merged(stored);
  if (complete) return secrets;
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
