import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDevSecrets } from '../../scripts/dev/dev-secrets';
import { dotenvFile, dotenvLine } from '../../scripts/dev/dotenv';
import { assertPortFree, PortTakenError, portFromEnv } from '../../scripts/dev/ports';
import { startStack } from '../../scripts/dev/stack';
import { workerConfigNames, workerVarsFromEnv } from '../../scripts/dev/worker-vars';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function holdPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return address.port;
}

describe('worker configuration from the environment', () => {
  it('reads every string setting and secret of the worker Env, and no binding', () => {
    const names = workerConfigNames();
    for (const name of [
      'ORIGIN_URL',
      'SITE_ID',
      'HOLDOUT_PERCENT',
      'RX_SLOTS',
      'PRICE_GUARDRAILS',
      'ADMIN_TOKEN',
      'MONGODB_URI',
      'USER_HASH_KEY',
    ]) {
      expect(names).toContain(name);
    }
    expect(names).not.toContain('EVENTS');
    expect(names).not.toContain('MODEL_STORE');
  });

  it('passes set, non-empty variables only', () => {
    const vars = workerVarsFromEnv({
      HOLDOUT_PERCENT: '25',
      RX_SLOTS: '',
      PATH: '/usr/bin',
      ORIGIN_URL: 'http://127.0.0.1:3000',
    });
    expect(vars).toEqual({ HOLDOUT_PERCENT: '25', ORIGIN_URL: 'http://127.0.0.1:3000' });
  });
});

describe('dev secrets (.rx-data/dev-secrets.json)', () => {
  it('are made once and kept; a file from before USER_HASH_KEY gets one added and keeps the others', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-dev-secrets-'));
    try {
      const made = loadDevSecrets(dir);
      expect(made.USER_HASH_KEY.length).toBeGreaterThanOrEqual(32);
      expect(loadDevSecrets(dir)).toEqual(made);

      const file = path.join(dir, 'dev-secrets.json');
      writeFileSync(file, JSON.stringify({ PRICE_SIGNING_KEY: 'p-old', ADMIN_TOKEN: 'a-old' }), {
        mode: 0o600,
      });
      const upgraded = loadDevSecrets(dir);
      expect(upgraded).toMatchObject({ PRICE_SIGNING_KEY: 'p-old', ADMIN_TOKEN: 'a-old' });
      expect(upgraded.USER_HASH_KEY).not.toBe(made.USER_HASH_KEY);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(upgraded);
      expect(loadDevSecrets(dir)).toEqual(upgraded);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('env file for wrangler dev', () => {
  it('quotes so values stay raw, and escapes $ against dotenv-expand', () => {
    expect(dotenvLine('A', 'plain')).toBe("A='plain'");
    expect(dotenvLine('RX_SLOTS', `[{"selector":"div[data-x='y']"}]`)).toBe(
      'RX_SLOTS=`[{"selector":"div[data-x=\'y\']"}]`',
    );
    expect(dotenvLine('K', "it's")).toBe(`K="it's"`);
    expect(dotenvLine('T', 'a$HOME b')).toBe("T='a\\$HOME b'");
    expect(dotenvFile({ A: '1', B: '2' })).toBe("A='1'\nB='2'\n");
  });

  it('refuses what it cannot write safely', () => {
    expect(() => dotenvLine('X', 'two\nlines')).toThrow(/multi-line/);
    expect(() => dotenvLine('X', `'"\``)).toThrow(/cannot be passed/);
    expect(() => dotenvLine('BAD NAME', 'v')).toThrow(/not a valid variable name/);
  });
});

describe('ports', () => {
  it('reads ports from the environment and names the variable when one is wrong', () => {
    expect(portFromEnv({}, 'RX_PORT', 8787)).toBe(8787);
    expect(portFromEnv({ RX_PORT: '0' }, 'RX_PORT', 8787)).toBe(0);
    expect(() => portFromEnv({ RX_PORT: '99999' }, 'RX_PORT', 8787)).toThrow('RX_PORT must be a port number');
  });

  it('names the port and the variable to change when a port is taken', async () => {
    const port = await holdPort();
    await expect(assertPortFree('127.0.0.1', port, 'RX_SHOP_PORT', 'demo shop')).rejects.toThrow(
      `port ${port} (demo shop) is already in use: set RX_SHOP_PORT to another port`,
    );
  });

  it('startStack refuses half an Upstash configuration before starting anything', async () => {
    await expect(
      startStack({ workerVars: { UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' } }),
    ).rejects.toThrow('set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN');
  });

  it('startStack refuses a taken port before starting anything', async () => {
    const port = await holdPort();
    const error = await startStack({ mongoPort: port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortTakenError);
    expect((error as PortTakenError).envVar).toBe('RX_MONGO_PORT');
  });
});
