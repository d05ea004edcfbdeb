/**
 * A change to the worker's code while `npm start` runs. wrangler bundles in esbuild's watch mode
 * whatever dev-worker-main.ts asks (`dev.watch: false` does not stop it): on a save it rebuilds, says
 * "⎔ Reloading local server..." and restarts the worker's workerd on a new address. The stack's watch
 * of that workerd found the old address refusing twice in a row and stopped the whole stack ("the
 * worker's workerd at 127.0.0.1:N is gone (ECONNREFUSED: crashed or killed)"). Now dev-worker-main.ts
 * says when a reload starts, ends or fails, the watch does not count misses meanwhile, and a workerd
 * that dies after a reload is still found. A tiny worker in a temporary folder stands in for ours
 * (the reload is what is tested), watched every 50 ms so that any restart spans several probes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/ports';
import {
  RELOAD_FAILED_LINE,
  RELOAD_LINE,
  startWranglerDev,
  WORKERD_LINE,
} from '../../scripts/dev/wrangler-dev';
import { groupMembers, startTime } from '../../scripts/processes';

const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = path.join(dir, 'worker.js');
/** Answers /healthz as ours does (status and components), with the version of the code it runs. */
const worker = (version: number) =>
  `export default { fetch(request) { return new URL(request.url).pathname === '/healthz' ? Response.json({ status: 'ok', components: {}, version: ${version} }) : new Response('ok'); } };\n`;

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the worker under wrangler dev, reloaded after a change to its code', { timeout: 240_000 }, () => {
  it('keeps running through a reload and a failed one, serves the new code, and still notices a dead workerd', async () => {
    writeFileSync(
      path.join(dir, 'wrangler.toml'),
      'name = "reload"\nmain = "worker.js"\ncompatibility_date = "2024-09-23"\ncompatibility_flags = ["nodejs_compat"]\n',
    );
    writeFileSync(entry, worker(1));
    const output: string[] = [];
    const dev = await startWranglerDev({
      config: path.join(dir, 'wrangler.toml'),
      host: '127.0.0.1',
      port: await freePort('127.0.0.1'),
      vars: {},
      runDir: path.join(dir, 'run'),
      persistTo: path.join(dir, 'state'),
      readyTimeoutMs: 120_000,
      watch: true,
      watchIntervalMs: 50,
      onOutput: (line) => output.push(line),
    });
    let failure: string | undefined;
    void dev.failed.then((reason) => {
      failure = reason;
    });
    const said = () => `wrangler said:\n${output.slice(-20).join('\n')}`;
    const version = async () => {
      try {
        const response = await fetch(`${dev.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        return ((await response.json()) as { version?: number }).version;
      } catch {
        return undefined;
      }
    };
    try {
      expect(await version()).toBe(1);
      const firstWorkerd = dev.workerdUrl();
      expect(firstWorkerd).toBeDefined();

      // A save: reloaded, on a new workerd, and the stack is still there.
      let seen = output.length;
      writeFileSync(entry, worker(2));
      await waitUntil(async () => failure !== undefined || (await version()) === 2, 'the new code');
      expect(failure, said()).toBeUndefined();
      const reload = output.slice(seen);
      expect(reload, said()).toContain(RELOAD_LINE);
      expect(reload.some((line) => line.startsWith(`${WORKERD_LINE} `))).toBe(true);
      expect(dev.workerdUrl()).not.toBe(firstWorkerd);

      // A save whose code throws as it loads: the reload fails, no workerd runs, and the stack waits
      // for the next save (as wrangler dev does) rather than stop.
      seen = output.length;
      writeFileSync(entry, `throw new Error('broken on load');\n${worker(3)}`);
      await waitUntil(
        () => failure !== undefined || output.slice(seen).some((line) => line.startsWith(RELOAD_FAILED_LINE)),
        'the reload to fail',
      );
      await new Promise((resolve) => setTimeout(resolve, 500)); // ten probes of the watch
      expect(failure, said()).toBeUndefined();
      writeFileSync(entry, worker(4));
      await waitUntil(async () => failure !== undefined || (await version()) === 4, 'the fixed code');
      expect(failure, said()).toBeUndefined();

      // A crash is still one: the worker's workerd (the newest of the group's two; the other is
      // wrangler's proxy, never reloaded) killed outright.
      const workerds = groupMembers(dev.pid).filter(({ command }) => /workerd/.test(command));
      expect(workerds).toHaveLength(2);
      const newest = workerds.sort((a, b) => Number(startTime(b.pid)) - Number(startTime(a.pid)))[0];
      process.kill(newest?.pid as number, 'SIGKILL');
      const reason = await Promise.race([
        dev.failed,
        new Promise<string>((resolve) => setTimeout(() => resolve('not noticed within 10 s'), 10_000)),
      ]);
      expect(reason).toBe(
        `the worker's workerd at ${new URL(dev.workerdUrl() as string).host} is gone (ECONNREFUSED: crashed or killed), while wrangler dev (pid ${dev.pid}) still runs`,
      );
    } finally {
      await dev.stop();
    }
  });
});
