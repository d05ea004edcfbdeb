/**
 * Credentials of the local stack (PRICE_SIGNING_KEY, ADMIN_TOKEN): random on first start, kept in
 * .rx-data/dev-secrets.json (gitignored, owner-only) so price tokens and admin calls survive a restart.
 * They protect nothing but a developer's own machine; production ones are `wrangler secret put`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface DevSecrets {
  PRICE_SIGNING_KEY: string;
  ADMIN_TOKEN: string;
}

function isDevSecrets(value: unknown): value is DevSecrets {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.PRICE_SIGNING_KEY === 'string' && typeof v.ADMIN_TOKEN === 'string';
}

function fresh(): DevSecrets {
  return {
    PRICE_SIGNING_KEY: randomBytes(32).toString('base64url'),
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
  };
}

/** Loads the dev secrets from `dir`, creating them when missing or unreadable. Without `dir`, fresh ones. */
export function loadDevSecrets(dir?: string): DevSecrets {
  if (!dir) return fresh();
  const file = path.join(dir, 'dev-secrets.json');
  try {
    const stored: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (isDevSecrets(stored)) return stored;
  } catch {
    // Missing or corrupt: make new ones below.
  }
  const secrets = fresh();
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
