import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/ports';
import { startWranglerDev, type WranglerDev } from '../../scripts/dev/wrangler-dev';
import {
  assertSafeToSendToken,
  PublishError,
  publishBundle,
  readBundleFolder,
  workerUrlProblem,
} from '../../scripts/models-publish';
import { buildFixtureBundle, writeFixtureBundle } from '../support/fixture-bundle';

async function bundleDir(version: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rx-publish-'));
  await writeFixtureBundle(buildFixtureBundle({ version }), dir);
  return dir;
}

describe('models:publish local checks', () => {
  it('refuses a folder whose model does not match its sha256, naming the file', async () => {
    const dir = await bundleDir('local-1');
    await writeFile(path.join(dir, 'similar.onnx'), new Uint8Array(6953));
    await expect(readBundleFolder(dir)).rejects.toThrow(/similar\.onnx (has \d+ bytes|does not match)/);
  });

  it('refuses a folder missing a listed file, and one without a manifest', async () => {
    const dir = await bundleDir('local-2');
    await rm(path.join(dir, 'complements.onnx'));
    await expect(readBundleFolder(dir)).rejects.toThrow(
      /complements\.onnx is listed in manifest\.json but missing/,
    );
    await expect(readBundleFolder(os.tmpdir())).rejects.toThrow(PublishError);
  });

  it('refuses a manifest that is not JSON with a PublishError, not a stack trace', async () => {
    const dir = await bundleDir('local-3');
    await writeFile(path.join(dir, 'manifest.json'), '{"version": ');
    await expect(readBundleFolder(dir)).rejects.toThrow(/manifest\.json is not JSON/);
  });

  it('sends the admin token only over https or to this machine', () => {
    expect(() => assertSafeToSendToken('http://shop.example')).toThrow(/must be https/);
    expect(() => assertSafeToSendToken('https://shop.example')).not.toThrow();
    expect(() => assertSafeToSendToken('http://127.0.0.1:8787')).not.toThrow();
    expect(() => assertSafeToSendToken('http://localhost:8787')).not.toThrow();
  });

  it('says in one line that the worker cannot be reached, naming it and why', async () => {
    const dir = await bundleDir('local-4');
    const port = await freePort('127.0.0.1'); // nothing listens there
    const publishing = publishBundle(dir, { url: `http://127.0.0.1:${port}`, adminToken: 'x' });
    await expect(publishing).rejects.toThrow(PublishError);
    await expect(publishing).rejects.toThrow(
      new RegExp(`^cannot reach the worker at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
  });

  it('names what is missing from the command line, without a token in sight', async () => {
    const dir = await bundleDir('local-5');
    const env = { ...process.env, ADMIN_TOKEN: '', RX_WORKER_URL: '' };
    const run = promisify(execFile)(
      path.resolve('node_modules/.bin/tsx'),
      [path.resolve('scripts/models-publish.ts'), dir],
      { env },
    );
    const failure = await run.then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain(
      'models:publish: missing the worker (--url or RX_WORKER_URL); the admin token (ADMIN_TOKEN in the environment)',
    );
    expect(failure?.stderr).not.toContain('the bundle folder');
  });

  it('--help prints the usage (exit 0); an unknown option or a second folder is one line and the usage (exit 2)', async () => {
    const dir = await bundleDir('local-7');
    const run = (args: string[]) =>
      promisify(execFile)(
        path.resolve('node_modules/.bin/tsx'),
        [path.resolve('scripts/models-publish.ts'), ...args],
        {
          env: { ...process.env, ADMIN_TOKEN: 'never-sent', RX_WORKER_URL: 'http://127.0.0.1:9' },
          timeout: 20_000,
        },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          stdout: error.stdout,
          stderr: error.stderr,
        }),
      );
    const [help, unknown, extra] = await Promise.all([
      run(['--help']),
      run([dir, '--dry-run=yes']),
      // Before, the second word was ignored and the bundle published to RX_WORKER_URL.
      run([dir, 'https://rx.shop.example']),
    ]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: ADMIN_TOKEN=\.\.\. npm run models:publish -- DIR --url /);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^models:publish: unknown option --dry-run\nusage: /);
    expect(unknown.stderr).not.toContain('yes');
    expect(unknown.stderr).not.toMatch(/TypeError|at /);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(
      /^models:publish: unexpected argument "https:\/\/rx\.shop\.example": give one bundle folder \(the worker goes in --url\)\nusage: /,
    );
    for (const result of [unknown, extra]) expect(result.stdout).toBe('');
  }, 30_000);

  it('refuses a worker URL with a path (or query) by the option or variable it came from, sending nothing', async () => {
    const dir = await bundleDir('local-8');
    // A server that counts what reaches it: under /en the uploads would be the shop's pages, token and all.
    let requests = 0;
    const server = createServer((_request, response) => {
      requests += 1;
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const run = (args: string[], workerUrl: string) =>
      promisify(execFile)(
        path.resolve('node_modules/.bin/tsx'),
        [path.resolve('scripts/models-publish.ts'), dir, ...args],
        {
          env: { ...process.env, ADMIN_TOKEN: 'never-sent-0123456789', RX_WORKER_URL: workerUrl },
          timeout: 20_000,
        },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    try {
      const [option, variable] = await Promise.all([
        run(['--url', 'https://x/en'], ''),
        run([], `${root}/en/`),
      ]);
      expect(option.code).toBe(2);
      expect(option.stderr).toBe(
        'models:publish: --url must be the worker\'s root URL alone, like https://x, without "/en" ' +
          '(no path, query, fragment or user name): the admin API is at /admin/models/… there, and under ' +
          "another path the admin token would be sent to the shop's pages\n",
      );
      expect(variable.code).toBe(2);
      expect(variable.stderr).toMatch(
        /^models:publish: RX_WORKER_URL must be the worker's root URL alone, like http:\/\/127\.0\.0\.1:\d+, without "\/en"/,
      );
      for (const url of [`${root}/en`, `${root}/?x=1`, `${root}/#`]) {
        await expect(publishBundle(dir, { url, adminToken: 'never-sent-0123456789' })).rejects.toThrow(
          /^--url must be the worker's root URL alone/,
        );
      }
      expect(requests).toBe(0);
      // Its root, with or without the trailing slash, is the worker's.
      expect(workerUrlProblem('https://rx.shop.example/', '--url')).toBeUndefined();
      expect(workerUrlProblem('http://localhost:8787', '--url')).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 30_000);

  it('refuses an ADMIN_TOKEN with a line break by name, without printing it or sending anything', async () => {
    const dir = await bundleDir('local-6');
    const secret = 'admin-secret-part';
    const adminToken = `${secret}\nsecond-line`;
    const port = await freePort('127.0.0.1'); // nothing listens there: the token must be refused before
    const failure = await promisify(execFile)(
      path.resolve('node_modules/.bin/tsx'),
      [path.resolve('scripts/models-publish.ts'), dir, '--url', `http://127.0.0.1:${port}`],
      { env: { ...process.env, ADMIN_TOKEN: adminToken, RX_WORKER_URL: '' }, timeout: 20_000 },
    ).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(`${failure?.stdout}${failure?.stderr}`).not.toContain(secret);
    expect(`${failure?.stdout}${failure?.stderr}`).not.toContain('second-line');
    expect(failure?.stderr).toBe(
      'models:publish: ADMIN_TOKEN contains a line break, which a token cannot have (a stray newline or space from pasting it?): set it to the token alone\n',
    );
    const publishing = publishBundle(dir, { url: `http://127.0.0.1:${port}`, adminToken });
    await expect(publishing).rejects.toThrow(/^ADMIN_TOKEN contains a line break/);
  });
});

describe('models:publish against the worker under wrangler dev', () => {
  const adminToken = `publish-test-${crypto.randomUUID()}`;
  let worker: WranglerDev;
  let runDir: string;

  beforeAll(async () => {
    runDir = await mkdtemp(path.join(os.tmpdir(), 'rx-publish-worker-'));
    worker = await startWranglerDev({
      host: '127.0.0.1',
      port: await freePort('127.0.0.1'),
      vars: { ADMIN_TOKEN: adminToken, SITE_ID: 'publish-test', HOLDOUT_PERCENT: '0' },
      runDir,
      persistTo: path.join(runDir, 'state'),
      logLevel: 'warn',
      readyTimeoutMs: 120_000,
    });
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await rm(runDir, { recursive: true, force: true });
  });

  it('before any publish, serves nothing rather than the demo catalogue (wrangler.toml: DEMO_BUNDLE=false)', async () => {
    const response = await fetch(
      `${worker.url}/v1/recommendations?placement=product&product_id=P10004&limit=3`,
    );
    expect(await response.json()).toMatchObject({ source: 'none', model_version: 'none', items: [] });
    const health = (await (await fetch(`${worker.url}/healthz`)).json()) as {
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(health.components.models).toMatchObject({ status: 'disabled' });
    expect(health.components.models?.detail).toMatch(/npm run models:publish/);
  }, 60_000);

  it('uploads, activates, and the worker serves the new version without a restart', async () => {
    const result = await publishBundle(await bundleDir('published-1'), { url: worker.url, adminToken });
    expect(result.version).toBe('published-1');
    expect(result.models.sort()).toEqual(['complements', 'personal', 'similar']);
    const response = await fetch(
      `${worker.url}/v1/recommendations?placement=product&product_id=P10004&limit=3`,
    );
    const body = (await response.json()) as { model_version: string; source: string; items: unknown[] };
    expect(body).toMatchObject({ model_version: 'published-1', source: 'similar' });
    expect(body.items).toHaveLength(3);
  }, 120_000);

  it('reports a wrong admin token clearly', async () => {
    await expect(
      publishBundle(await bundleDir('published-2'), { url: worker.url, adminToken: 'wrong' }),
    ).rejects.toThrow(/refused the admin token/);
  }, 60_000);
});
