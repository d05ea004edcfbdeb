import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsDatabaseOf } from '../../contracts/mongodb-uri';
import { loadDevSecrets } from '../../scripts/dev/dev-secrets';
import { dotenvFile, dotenvLine } from '../../scripts/dev/dotenv';
import { assertPortFree, PortTakenError, portFromEnv } from '../../scripts/dev/ports';
import { assertDistinctPorts, startStack, withOrigin } from '../../scripts/dev/stack';
import {
  configText,
  formatSummary,
  healthView,
  type SummaryInput,
  uriWithDatabase,
} from '../../scripts/dev/summary';
import { startVarsFromEnv, workerConfigNames, workerVarsFromEnv } from '../../scripts/dev/worker-vars';
import { startVars, WRANGLER_TOML, wranglerVars } from '../../scripts/dev/wrangler-config';
import {
  isWorkerHealth,
  probeWorker,
  READY_LINE,
  RELOAD_FAILED_LINE,
  RELOAD_LIMIT_MS,
  RELOAD_LINE,
  readStartupLine,
  reloadExcuses,
  reloadUnderway,
  type StartupSignals,
  WORKERD_LINE,
  waitUntilReady,
  watchWorker,
} from '../../scripts/dev/wrangler-dev';

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

  it('passes set variables; an empty one only over a wrangler.toml [vars] setting, which it replaces', () => {
    const env = {
      HOLDOUT_PERCENT: '25',
      RX_SLOTS: '',
      PATH: '/usr/bin',
      ORIGIN_URL: 'http://127.0.0.1:3000',
    };
    expect(workerVarsFromEnv(env)).toEqual({ HOLDOUT_PERCENT: '25', ORIGIN_URL: 'http://127.0.0.1:3000' });
    // `HOLDOUT_PERCENT= npm start` kept the file's 10: an empty setting means its default (0), so the
    // empty value goes to wrangler dev, over the file's.
    const file = wranglerVars(readFileSync(WRANGLER_TOML, 'utf8'));
    expect(file.HOLDOUT_PERCENT).toBe('10');
    expect(workerVarsFromEnv({ HOLDOUT_PERCENT: '', RX_SLOTS: '' }, file)).toEqual({
      HOLDOUT_PERCENT: '',
      RX_SLOTS: '',
    });
    // Settings the file does not have: empty is unset, and does not blank what the stack fills in.
    expect(workerVarsFromEnv({ MONGODB_URI: '', UPSTASH_REDIS_REST_URL: '', ADMIN_TOKEN: '' }, file)).toEqual(
      {},
    );
  });

  it('npm start: an empty setting in the environment overrides the file, ORIGIN_URL too (the demo shop)', () => {
    const file = wranglerVars(
      '[vars]\nORIGIN_URL = "https://origin.shop.example"\nHOLDOUT_PERCENT = "10"\nSHOP_ORIGINS = "https://shop.example"\n',
    );
    expect(startVarsFromEnv({ ORIGIN_URL: '', HOLDOUT_PERCENT: '' }, file)).toEqual({
      workerVars: { ORIGIN_URL: '', HOLDOUT_PERCENT: '', SHOP_ORIGINS: 'https://shop.example' },
      originSource: 'demo shop',
      fromEnvironment: { ORIGIN_URL: '', HOLDOUT_PERCENT: '' },
    });
    // Without ORIGIN_URL in the environment the file's is proxied; the file's SHOP_ORIGINS goes with
    // the demo shop unless the environment has one, even empty.
    expect(startVarsFromEnv({}, file)).toMatchObject({
      workerVars: { ORIGIN_URL: 'https://origin.shop.example' },
      originSource: 'wrangler.toml',
    });
    expect(startVarsFromEnv({ ORIGIN_URL: '', SHOP_ORIGINS: '' }, file).workerVars).toEqual({
      ORIGIN_URL: '',
      SHOP_ORIGINS: '',
    });
    expect(startVarsFromEnv({ ORIGIN_URL: 'http://127.0.0.1:3000' }, file)).toMatchObject({
      workerVars: { ORIGIN_URL: 'http://127.0.0.1:3000' },
      originSource: 'environment',
    });
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

  it('takes a blank port as unset, not as 0 (a free port demo:traffic cannot find)', () => {
    // Number(' ') is 0: `RX_PORT=' '` (or a CRLF .env's `RX_PORT=\r`) put the worker on a random port,
    // while demo:traffic, which trims, went to 8787.
    expect(portFromEnv({ RX_PORT: ' ' }, 'RX_PORT', 8787)).toBe(8787);
    expect(portFromEnv({ RX_PORT: '\r' }, 'RX_PORT', 8787)).toBe(8787);
    expect(portFromEnv({ RX_PORT: ' 8799 ' }, 'RX_PORT', 8787)).toBe(8799);
  });

  it('refuses a port that is not written in decimal digits', () => {
    // Number() reads these, but demo:traffic puts RX_PORT's text into its URL as it is.
    for (const text of ['0x1F90', '1e3', '8787.0', '-0', '+8787']) {
      expect(() => portFromEnv({ RX_PORT: text }, 'RX_PORT', 8787)).toThrow(
        `RX_PORT must be a port number from 0 to 65535, got "${text}"`,
      );
    }
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

  it('startStack refuses two parts on one port, naming both variables, before starting anything', async () => {
    // RX_PORT=RX_SHOP_PORT: the demo shop took the port, workerd could not bind it, and npm start said
    // Ready of the demo shop answering /healthz.
    const port = await holdPort();
    await new Promise<void>((resolve) => servers.pop()?.close(() => resolve()));
    await expect(startStack({ workerPort: port, shopPort: port })).rejects.toThrow(
      `RX_PORT and RX_SHOP_PORT are both ${port}: give each its own port (or 0 for a free one)`,
    );
    await expect(startStack({ upstashPort: port, mongoPort: port })).rejects.toThrow(
      `RX_UPSTASH_PORT and RX_MONGO_PORT are both ${port}`,
    );
    // Nothing started: the port is still free.
    await expect(assertPortFree('127.0.0.1', port, 'RX_PORT', 'worker')).resolves.toBeUndefined();
    // 0 (a free one each) and a part not started (undefined) are no clash.
    expect(() =>
      assertDistinctPorts([
        [0, 'RX_PORT'],
        [0, 'RX_SHOP_PORT'],
        [undefined, 'RX_UPSTASH_PORT'],
        [8790, 'RX_MONGO_PORT'],
      ]),
    ).not.toThrow();
    expect(() =>
      assertDistinctPorts([
        [8790, 'RX_PORT'],
        [undefined, 'RX_SHOP_PORT'],
        [8790, 'RX_MONGO_PORT'],
      ]),
    ).toThrow('RX_PORT and RX_MONGO_PORT are both 8790');
  });

  it('startStack refuses a taken port before starting anything', async () => {
    const port = await holdPort();
    const error = await startStack({ mongoPort: port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortTakenError);
    expect((error as PortTakenError).envVar).toBe('RX_MONGO_PORT');
  });

  it("startStack checks the inspector's port (RX_INSPECTOR_PORT) like the others, before starting anything", async () => {
    // It used to reach only wrangler: a taken one (9229, a Node debugger's) ended the start after 90 s
    // with "did not start the worker", the reason buried in wrangler's lines.
    const port = await holdPort();
    const error = await startStack({ inspectorPort: port }).then(
      async (stack) => {
        await stack.stop();
        return stack;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PortTakenError);
    expect((error as PortTakenError).message).toBe(
      `port ${port} (workerd's inspector) is already in use: set RX_INSPECTOR_PORT to another port (or 0 for a free one)`,
    );
    await expect(startStack({ workerPort: 8799, inspectorPort: 8799 })).rejects.toThrow(
      'RX_PORT and RX_INSPECTOR_PORT are both 8799',
    );
  });
});

describe('the origin npm start proxies (environment, then wrangler.toml [vars], then the demo shop)', () => {
  const toml = (vars: string) =>
    `name = "rx-edge"\nmain = "worker/src/index.ts"\n\n[vars]\n${vars}\n\n[[queues.producers]]\nbinding = "EVENTS"\nqueue = "rx-events"\n`;

  it("keeps the demo shop for the repository's own wrangler.toml (ORIGIN_URL empty there)", () => {
    expect(wranglerVars(readFileSync(WRANGLER_TOML, 'utf8'))).toMatchObject({
      ORIGIN_URL: '',
      SITE_ID: 'demo',
    });
    expect(startVars({ HOLDOUT_PERCENT: '50' }, wranglerVars(readFileSync(WRANGLER_TOML, 'utf8')))).toEqual({
      workerVars: { HOLDOUT_PERCENT: '50' },
      originSource: 'demo shop',
    });
  });

  it('proxies the ORIGIN_URL set in wrangler.toml [vars] when the environment sets none', () => {
    const file = wranglerVars(toml('ORIGIN_URL = "https://origin.shop.example"\nSITE_ID = "shop-example"'));
    expect(startVars({ HOLDOUT_PERCENT: '50' }, file)).toEqual({
      workerVars: { HOLDOUT_PERCENT: '50', ORIGIN_URL: 'https://origin.shop.example' },
      originSource: 'wrangler.toml',
    });
  });

  it('lets the environment win over the file', () => {
    const file = wranglerVars(toml('ORIGIN_URL = "https://origin.shop.example"'));
    expect(startVars({ ORIGIN_URL: 'http://127.0.0.1:3000' }, file)).toEqual({
      workerVars: { ORIGIN_URL: 'http://127.0.0.1:3000' },
      originSource: 'environment',
    });
    // Blank in the environment is not set (as the worker reads it): the file's applies.
    expect(startVars({ ORIGIN_URL: '  ' }, file).workerVars.ORIGIN_URL).toBe('https://origin.shop.example');
  });

  it('reads the table in any form TOML allows, and only the top-level one', () => {
    const forms = [
      "ORIGIN_URL = 'http://127.0.0.1:3000' # a literal string and a comment",
      'ORIGIN_URL = "http\\u003a//127.0.0.1:3000"',
      '"ORIGIN_URL" = "http://127.0.0.1:3000"',
    ];
    for (const line of forms) {
      expect(wranglerVars(toml(line)).ORIGIN_URL, line).toBe('http://127.0.0.1:3000');
    }
    expect(wranglerVars('vars = { ORIGIN_URL = "http://127.0.0.1:3000" }\n').ORIGIN_URL).toBe(
      'http://127.0.0.1:3000',
    );
    // [env.NAME.vars] is for `wrangler dev --env NAME`, and a table after [vars] is not part of it.
    const other =
      '[vars]\nSITE_ID = "demo"\n\n[env.production.vars]\nORIGIN_URL = "https://origin.shop.example"\n';
    expect(startVars({}, wranglerVars(other)).originSource).toBe('demo shop');
    // Blank in the file: the demo shop.
    expect(startVars({}, wranglerVars(toml('ORIGIN_URL = " "'))).originSource).toBe('demo shop');
  });

  it('passes the file SHOP_ORIGINS on when the demo shop runs (the environment first)', () => {
    const file = wranglerVars(toml('ORIGIN_URL = ""\nSHOP_ORIGINS = "https://shop.example"'));
    expect(startVars({}, file).workerVars).toEqual({ SHOP_ORIGINS: 'https://shop.example' });
    expect(startVars({ SHOP_ORIGINS: 'http://127.0.0.1:3000' }, file).workerVars).toEqual({
      SHOP_ORIGINS: 'http://127.0.0.1:3000',
    });
  });

  it('names the file when it is not valid TOML', () => {
    expect(() => wranglerVars('[vars]\nORIGIN_URL = "http://x\n')).toThrow(
      'wrangler.toml is not valid TOML: control characters are not allowed in strings (line 2)',
    );
  });
});

describe('SHOP_ORIGINS with the demo shop', () => {
  it("adds the demo shop's origin to the given list instead of replacing it", () => {
    expect(withOrigin(undefined, 'http://127.0.0.1:8790')).toBe('http://127.0.0.1:8790');
    expect(withOrigin('http://127.0.0.1:3000', 'http://127.0.0.1:8790')).toBe(
      'http://127.0.0.1:3000,http://127.0.0.1:8790',
    );
    expect(withOrigin('https://a.example https://b.example,', 'https://b.example')).toBe(
      'https://a.example,https://b.example',
    );
  });
});

describe('the npm start summary', () => {
  const base: SummaryInput = {
    seconds: 9.14,
    workerUrl: 'http://127.0.0.1:8787',
    originSource: 'demo shop',
    originUrl: 'http://127.0.0.1:8790',
    upstash: { url: 'http://127.0.0.1:8079', backend: 'redis-server' },
    mongo: { uri: 'mongodb://127.0.0.1:27018', database: 'rx' },
    health: {
      models: { status: 'ok', detail: 'built-in demo bundle' },
      config: { status: 'ok' },
    },
    dataDir: '.rx-data',
    fromEnvironment: [],
  };

  it('labels the demo shop and suggests demo:traffic for it', () => {
    const text = formatSummary(base);
    expect(text).toContain('\nReady in 9.1 s.\n');
    expect(text).toMatch(/ {2}Personalized demo shop {2}http:\/\/127\.0\.0\.1:8787\//);
    expect(text).toMatch(/ {2}Demo shop \(origin\) +http:\/\/127\.0\.0\.1:8790\n/);
    expect(text).toMatch(/ {2}Models +ok: built-in demo bundle\n {2}Config +ok\n/);
    expect(text).toContain('npm run demo:traffic');
    // The live screen's address, and where its token is (never the token itself).
    expect(text).toMatch(
      / {2}Live experiment +http:\/\/127\.0\.0\.1:8787\/admin\/live\/screen \(ADMIN_TOKEN in \.rx-data\/run\/worker\.env\)\n/,
    );
    expect(text).toContain(
      '\nTreatment against holdout: npm run report -- --format mongodb --input mongodb://127.0.0.1:27018/rx\n',
    );
    expect(text).not.toContain('From the environment');
    // With MONGODB_URI from the environment (it holds a password), no report line names it.
    expect(formatSummary({ ...base, mongo: undefined })).not.toContain('npm run report');
  });

  it('points demo:traffic and report where this start put the worker and the events', () => {
    // The default address: demo:traffic finds it without --url.
    expect(formatSummary(base)).toContain('\nSimulated shoppers: npm run demo:traffic\n');
    // Another port (RX_PORT=8799, or 0 and a free one): demo:traffic, run from another shell, would go
    // to 8787 without --url. MONGODB_DB=shop: report, without it in its shell, would read rx.
    const text = formatSummary({
      ...base,
      workerUrl: 'http://127.0.0.1:8799',
      mongo: { uri: 'mongodb://127.0.0.1:27018', database: 'shop' },
    });
    expect(text).toContain('\nSimulated shoppers: npm run demo:traffic -- --url http://127.0.0.1:8799\n');
    expect(text).toContain(
      '\nTreatment against holdout: npm run report -- --format mongodb --input mongodb://127.0.0.1:27018/shop\n',
    );
    expect(eventsDatabaseOf(uriWithDatabase('mongodb://127.0.0.1:27018', 'shop'), 'rx')).toBe('shop');
    expect(uriWithDatabase('mongodb://127.0.0.1:27018/old?tls=true', 'a b')).toBe(
      'mongodb://127.0.0.1:27018/a%20b?tls=true',
    );
  });

  it('labels your own shop, says where its origin came from and leaves demo:traffic out', () => {
    const text = formatSummary({
      ...base,
      originSource: 'wrangler.toml',
      originUrl: 'http://127.0.0.1:3000',
      fromEnvironment: ['HOLDOUT_PERCENT'],
    });
    expect(text).toMatch(/ {2}Your shop, personalized +http:\/\/127\.0\.0\.1:8787\//);
    expect(text).toMatch(/ {2}Origin \(ORIGIN_URL, wrangler\.toml\) +http:\/\/127\.0\.0\.1:3000\n/);
    expect(text).not.toContain('demo shop');
    expect(text).not.toContain('demo:traffic');
    expect(text).toContain('From the environment: HOLDOUT_PERCENT');
    expect(formatSummary({ ...base, originSource: 'environment' })).toContain(
      'Origin (ORIGIN_URL, environment)',
    );
  });

  it("shows /healthz's config component, loudly when it is not ok", () => {
    const problem = 'ORIGIN_URL: must be an http:// or https:// URL, got a value without http:// or https://';
    const down = formatSummary({
      ...base,
      health: { ...base.health, config: { status: 'down', detail: problem } },
    });
    expect(down).toContain(`  Config                  DOWN — ${problem}\n`);
    expect(down).toContain("Ready in 9.1 s, but the worker's configuration is DOWN");
    const degraded = formatSummary({
      ...base,
      health: { ...base.health, config: { status: 'degraded', detail: 'HOLDOUT_PERCENT: ...' } },
    });
    expect(degraded).toContain('Config                  degraded — HOLDOUT_PERCENT: ...\n');
    expect(degraded).toContain('Ready in 9.1 s, with configuration problems');
    expect(configText({ error: 'fetch failed' })).toBe('unknown (/healthz: fetch failed)');
    expect(configText({})).toBe('unknown (no config in /healthz)');
  });

  it('reads models and config out of a /healthz body', () => {
    expect(
      healthView({
        status: 'down',
        components: {
          cache: { status: 'ok' },
          models: { status: 'disabled', detail: 'nothing published' },
          config: { status: 'down', detail: 'ORIGIN_URL: ...' },
        },
      }),
    ).toEqual({
      models: { status: 'disabled', detail: 'nothing published' },
      config: { status: 'down', detail: 'ORIGIN_URL: ...' },
    });
    expect(healthView(null)).toEqual({ models: undefined, config: undefined });
  });
});

describe('when the worker under wrangler dev counts as started', () => {
  it("reads READY_LINE and workerd's failed bind of the worker's port from wrangler's output", () => {
    const signals: StartupSignals = {};
    readStartupLine('⎔ Starting local server...', 8799, signals);
    expect(signals).toEqual({});
    // workerd's bind of another port (its own inner sockets) is not the worker's port.
    const bind = (address: string) =>
      `*** Fatal uncaught kj::Exception: kj/async-io-unix.c++:945: failed: ::bind(sockfd, &addr.generic, addrlen): Address already in use; toString() = ${address}`;
    readStartupLine(bind('127.0.0.1:18799'), 8799, signals);
    expect(signals).toEqual({});
    readStartupLine(bind('127.0.0.1:8799'), 8799, signals);
    expect(signals).toEqual({ portTaken: true });
    readStartupLine(`${READY_LINE} http://127.0.0.1:8799/`, 8799, signals);
    expect(signals.readyUrl).toBe('http://127.0.0.1:8799/');
    readStartupLine(`${WORKERD_LINE} http://127.0.0.1:41234`, 8799, signals);
    expect(signals).toEqual({
      portTaken: true,
      readyUrl: 'http://127.0.0.1:8799/',
      workerdUrl: 'http://127.0.0.1:41234',
    });
  });

  it('reads a reload from its start to its end (a new workerd address) or its failure', () => {
    const signals: StartupSignals = { workerdUrl: 'http://127.0.0.1:41234' };
    readStartupLine('⎔ Reloading local server...', 8799, signals, 1_000);
    expect(signals).toEqual({ workerdUrl: 'http://127.0.0.1:41234' });
    readStartupLine(RELOAD_LINE, 8799, signals, 1_000);
    expect(signals).toEqual({ workerdUrl: 'http://127.0.0.1:41234', reloadingSince: 1_000 });
    readStartupLine(`${WORKERD_LINE} http://127.0.0.1:45678`, 8799, signals, 4_000);
    expect(signals).toEqual({ workerdUrl: 'http://127.0.0.1:45678' });

    readStartupLine(RELOAD_LINE, 8799, signals, 5_000);
    readStartupLine(`${RELOAD_FAILED_LINE} (Error reloading local server: boom)`, 8799, signals, 6_000);
    expect(signals).toEqual({
      workerdUrl: 'http://127.0.0.1:45678',
      reloadFailed: '(Error reloading local server: boom)',
    });
    // The next change reloads again: under way, then done.
    readStartupLine(RELOAD_LINE, 8799, signals, 9_000);
    expect(signals).toEqual({ workerdUrl: 'http://127.0.0.1:45678', reloadingSince: 9_000 });
    readStartupLine(`${WORKERD_LINE} http://127.0.0.1:45999`, 8799, signals, 10_000);
    expect(signals).toEqual({ workerdUrl: 'http://127.0.0.1:45999' });
  });

  it('excuses a missing workerd during a reload, for RELOAD_LIMIT_MS, and after a failed one until the next', () => {
    expect(RELOAD_LIMIT_MS).toBe(120_000);
    expect(reloadUnderway({}, 0)).toBe(false);
    expect(reloadExcuses({}, 0)).toBe(false);
    const reloading: StartupSignals = { reloadingSince: 1_000 };
    expect(reloadUnderway(reloading, 1_000 + RELOAD_LIMIT_MS - 1)).toBe(true);
    expect(reloadExcuses(reloading, 1_000 + RELOAD_LIMIT_MS - 1)).toBe(true);
    // A reload that has not finished in that long is a failure.
    expect(reloadUnderway(reloading, 1_000 + RELOAD_LIMIT_MS)).toBe(false);
    expect(reloadExcuses(reloading, 1_000 + RELOAD_LIMIT_MS)).toBe(false);
    expect(reloadExcuses({ reloadingSince: 1_000 }, 2_000, 500)).toBe(false);
    // A failed reload (the new code did not start): the stack waits for the next change, however long.
    const failed: StartupSignals = { reloadFailed: '(boom)' };
    expect(reloadUnderway(failed, 10 * RELOAD_LIMIT_MS)).toBe(false);
    expect(reloadExcuses(failed, 10 * RELOAD_LIMIT_MS)).toBe(true);
  });

  // Starts that never became ready within 90 s: files of the worker changed while it started (another
  // npm run build, an editor), and each reload held /healthz until it was done, on a loaded machine.
  it('does not count the time a reload holds /healthz against the wait', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const { EventEmitter } = await import('node:events');
    const signals: StartupSignals = {};
    // wrangler's proxy holds requests during a reload (each of the wait's requests gives up after 5 s);
    // here they end at once, without the worker's report, to keep the test short.
    const proxy = createHttpServer((_request, response) => {
      if (signals.reloadingSince === undefined) {
        response.writeHead(200).end(JSON.stringify({ status: 'ok', components: {} }));
      } else {
        response.writeHead(503).end('reloading');
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const child = Object.assign(new EventEmitter(), { exitCode: null, signalCode: null }) as never;
    try {
      const { port } = proxy.address() as { port: number };
      const base = `http://127.0.0.1:${port}`;
      signals.readyUrl = `${base}/`;
      const started = Date.now();
      signals.reloadingSince = started; // RELOAD_LINE
      const readyAt = waitUntilReady(base, port, '/healthz', child, signals, 400).then(() => Date.now());
      // The reload lasts three times the wait.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      delete signals.reloadingSince; // WORKERD_LINE
      expect((await readyAt) - started).toBeGreaterThanOrEqual(1_200);

      // A reload that has gone on for longer than RELOAD_LIMIT_MS extends the wait no more.
      signals.reloadingSince = Date.now() - RELOAD_LIMIT_MS;
      await expect(waitUntilReady(base, port, '/healthz', child, signals, 400)).rejects.toThrow(
        /did not answer with the worker's health report within 0 s \(last: HTTP 503.*wrangler began reloading the worker 12\d s ago and has not finished$/,
      );
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it("takes only the worker's own health report for /healthz, not another server's page there", () => {
    expect(isWorkerHealth({ status: 'ok', site: 'demo', components: { cache: { status: 'ok' } } })).toBe(
      true,
    );
    expect(isWorkerHealth({ status: 'down', components: {} })).toBe(true);
    expect(isWorkerHealth(undefined)).toBe(false);
    expect(isWorkerHealth({ ok: true })).toBe(false);
    expect(isWorkerHealth({ status: 'ok' })).toBe(false);
    expect(isWorkerHealth('<!doctype html>')).toBe(false);
  });
});

describe('watching the worker under wrangler dev', () => {
  // A workerd killed under wrangler (kill -9, a crash) left wrangler running: npm start noticed nothing
  // and every request hung, then ended in a 500. The stack now probes the worker's own workerd.
  it('a TCP probe of the workerd address: there while it listens, gone (ECONNREFUSED) once it stops', async () => {
    const port = await holdPort();
    const workerd = `http://127.0.0.1:${port}`;
    expect(await probeWorker(workerd, 'http://127.0.0.1:9/healthz')).toBeUndefined();
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    expect(await probeWorker(workerd, 'http://127.0.0.1:9/healthz')).toBe(
      `the worker's workerd at 127.0.0.1:${port} is gone (ECONNREFUSED: crashed or killed)`,
    );
  });

  it('without the workerd address, a GET through wrangler: any status is there, no answer in time is not', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    let hold = false;
    const held: Array<{ destroy(): void }> = [];
    const proxy = createHttpServer((request, response) => {
      if (hold) {
        held.push(request.socket); // as wrangler's proxy does with a dead workerd behind it
        return;
      }
      response.writeHead(500).end();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as { port: number };
      const url = `http://127.0.0.1:${port}/healthz`;
      // Answered (a 500): given all the time it needs, as the first fetch of the file loads undici.
      expect(await probeWorker(undefined, url, 10_000)).toBeUndefined();
      hold = true;
      expect(await probeWorker(undefined, url, 300)).toBe(
        `the worker did not answer ${url} (no answer within 0.3 s)`,
      );
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('calls onLost once, after that many misses in a row, and stops probing then or when stopped', async () => {
    const answers = [undefined, 'down 1', undefined, 'down 2', 'down 3', 'down 4'];
    let probes = 0;
    const lost: string[] = [];
    let noticeLost: () => void = () => {};
    const lostOnce = new Promise<void>((resolve) => {
      noticeLost = resolve;
    });
    watchWorker({
      probe: async () => answers[probes++],
      intervalMs: 5,
      misses: 2,
      onLost: (reason) => {
        lost.push(reason);
        noticeLost();
      },
    });
    await lostOnce;
    // No probe after onLost: many intervals later the count is still the fifth probe's.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lost).toEqual(['down 3']);
    expect(probes).toBe(5);

    // Stopped while a probe is out: that probe's miss is not acted on, and no other probe follows.
    let more = 0;
    const stop = watchWorker({
      probe: async () => {
        more++;
        stop();
        return 'down';
      },
      intervalMs: 5,
      misses: 1,
      onLost: (reason) => lost.push(reason),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(more).toBe(1);
    expect(lost).toEqual(['down 3']);
  });

  // Saving a file of the worker made wrangler rebuild and restart its workerd on a new address; two
  // refused probes of the old one in the meantime stopped the whole stack, as if workerd had crashed.
  it('does not count a probe that fails while wrangler reloads the worker, and forgets the misses before it', async () => {
    // The old workerd refuses from the second probe on; wrangler says it reloads before the third, and
    // names the new workerd (which answers) after the sixth.
    let probes = 0;
    let reloading = false;
    const lost: string[] = [];
    const answers: Array<string | undefined> = [];
    const done = new Promise<void>((resolve) => {
      const stop = watchWorker({
        probe: async () => {
          probes++;
          if (probes === 3) reloading = true;
          if (probes === 7) reloading = false;
          const answer = probes === 1 || probes >= 7 ? undefined : `old workerd gone (probe ${probes})`;
          answers.push(answer);
          if (probes === 10) {
            stop();
            resolve();
          }
          return answer;
        },
        reloading: () => reloading,
        intervalMs: 5,
        misses: 2,
        onLost: (reason) => {
          lost.push(reason);
          resolve();
        },
      });
    });
    await done;
    expect(lost).toEqual([]);
    expect(answers.filter((answer) => answer !== undefined)).toHaveLength(5);

    // The same refusals with no reload: lost at the second one in a row, as before.
    probes = 0;
    const lostWithout = await new Promise<string>((resolve) => {
      watchWorker({
        probe: async () => {
          probes++;
          return probes === 1 ? undefined : `old workerd gone (probe ${probes})`;
        },
        reloading: () => false,
        intervalMs: 5,
        misses: 2,
        onLost: resolve,
      });
    });
    expect(lostWithout).toBe('old workerd gone (probe 3)');
  });

  it('counts misses again once a reload has lasted past its limit (the reload excuses no more)', async () => {
    const signals: StartupSignals = { reloadingSince: Date.now() };
    let probes = 0;
    const reason = await new Promise<string>((resolve) => {
      watchWorker({
        probe: async () => {
          probes++;
          return 'workerd gone';
        },
        reloading: () => reloadExcuses(signals, Date.now(), 200),
        intervalMs: 20,
        misses: 2,
        onLost: resolve,
      });
    });
    expect(reason).toBe('workerd gone');
    // Excused for about 200 ms of 20 ms intervals, then two misses.
    expect(probes).toBeGreaterThanOrEqual(5);
    expect(Date.now() - (signals.reloadingSince as number)).toBeGreaterThanOrEqual(200);
  });

  it('notices a fake workerd going away within two probe intervals', async () => {
    const port = await holdPort();
    // Every probe's answer, in order: the worker is lost on the second miss after it went away.
    const answers: Array<string | undefined> = [];
    let noticeUp: () => void = () => {};
    const up = new Promise<void>((resolve) => {
      noticeUp = resolve;
    });
    const lost = new Promise<string>((resolve) => {
      const stop = watchWorker({
        probe: async () => {
          const answer = await probeWorker(`http://127.0.0.1:${port}`, 'http://127.0.0.1:9/healthz');
          answers.push(answer);
          if (answer === undefined) noticeUp();
          return answer;
        },
        intervalMs: 50,
        misses: 2,
        onLost: (reason) => {
          stop();
          resolve(reason);
        },
      });
    });
    await up;
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const reason = await lost;
    expect(reason).toContain('is gone (ECONNREFUSED');
    // Found there first, then two misses in a row (and no probe after them): no clock to race.
    const misses = answers.filter((answer) => answer !== undefined);
    expect(misses).toHaveLength(2);
    expect(answers.slice(-2)).toEqual(misses);
    expect(misses.at(-1)).toBe(reason);
    expect(answers.slice(0, -2).every((answer) => answer === undefined)).toBe(true);
  });
});
