/**
 * Starts `wrangler dev --local` for a given wrangler.toml in its own process group (benchmarks only),
 * waits until `readyPath` answers, and stops the whole group afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/dev/ports';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningWorker {
  url: string;
  /** Process group of wrangler and its workerd (for CPU accounting). */
  processGroup: number;
  stop(): Promise<void>;
}

export async function runWrangler(options: {
  config: string;
  vars?: Record<string, string>;
  readyPath: string;
  timeoutMs?: number;
}): Promise<RunningWorker> {
  const host = '127.0.0.1';
  const [port, inspector] = [await freePort(host), await freePort(host)];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-'));
  const envFile = path.join(dir, 'worker.env');
  const lines = Object.entries(options.vars ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'node_modules/wrangler/bin/wrangler.js'),
      'dev',
      '--local',
      '--config',
      options.config,
      '--ip',
      host,
      '--port',
      String(port),
      '--inspector-port',
      String(inspector),
      '--env-file',
      envFile,
      '--persist-to',
      path.join(dir, 'state'),
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
    ],
    {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.pid === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}${options.readyPath}`);
      await response.arrayBuffer();
      return { url, processGroup: child.pid ?? -1, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  await stop();
  throw new Error(`wrangler dev did not answer ${options.readyPath} in time:\n${output}`);
}
