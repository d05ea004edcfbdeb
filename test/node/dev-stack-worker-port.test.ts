/**
 * When the worker under wrangler dev counts as started. It counted once anything answered `/healthz`
 * on its port: with RX_PORT=RX_SHOP_PORT the demo shop took the port first, workerd logged "bind …
 * Address already in use", and npm start said "Ready in 0.4 s" of the demo shop answering there. Now
 * dev-worker-main.ts must have said it is ready (READY_LINE, for that port), `/healthz` must answer
 * the worker's own report, and a failed bind ends the start at once, as a taken port. A tiny worker
 * stands in for ours (the start is what is tested, not the worker).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/dev/ports';
import { startWranglerDev, WorkerPortTakenError } from '../../scripts/dev/wrangler-dev';

let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-worker-port-'));
  config = path.join(dir, 'wrangler.toml');
  writeFileSync(
    config,
    'name = "worker-port"\nmain = "worker.js"\ncompatibility_date = "2024-09-23"\ncompatibility_flags = ["nodejs_compat"]\n',
  );
  // Answers /healthz as ours does (worker/src/health.ts: status and components).
  writeFileSync(
    path.join(dir, 'worker.js'),
    "export default { fetch(request) { return new URL(request.url).pathname === '/healthz' ? Response.json({ status: 'ok', components: {} }) : new Response('ok'); } };\n",
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const options = (port: number, name: string) => ({
  config,
  host: '127.0.0.1',
  port,
  vars: {},
  runDir: path.join(dir, `${name}-run`),
  persistTo: path.join(dir, `${name}-state`),
  readyTimeoutMs: 120_000,
});

describe('starting the worker under wrangler dev', { timeout: 180_000 }, () => {
  it('on a port another server took after any check: a WorkerPortTakenError, not a start', async () => {
    // The demo shop on the same port: HTML on every path, /healthz included.
    const other: Server = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title>'),
    );
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const { port } = other.address() as AddressInfo;
    const output: string[] = [];
    try {
      const error = await startWranglerDev({
        ...options(port, 'taken'),
        // Longer than this test's own timeout: the error must come from workerd's log, not the wait's end.
        readyTimeoutMs: 600_000,
        onOutput: (line) => output.push(line),
      }).then(
        async (worker) => {
          await worker.stop();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error, output.slice(-15).join('\n')).toBeInstanceOf(WorkerPortTakenError);
      expect((error as WorkerPortTakenError).port).toBe(port);
      expect((error as Error).message).toBe(`port ${port} is already in use: wrangler dev could not bind it`);
      // Told by workerd's log (its failed bind of this port), not by the demo shop's answer.
      expect(
        output.some((line) => /bind\(.*Address already in use/.test(line) && line.includes(`:${port}`)),
      ).toBe(true);
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('on a free port: started once it said so and /healthz answers its report', async () => {
    const worker = await startWranglerDev(options(await freePort('127.0.0.1'), 'free'));
    try {
      const body = await (await fetch(`${worker.url}/healthz`)).json();
      expect(body).toEqual({ status: 'ok', components: {} });
      expect(worker.recentOutput().some((line) => line.startsWith('rx-dev-worker: ready '))).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});
