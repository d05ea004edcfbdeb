import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
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
