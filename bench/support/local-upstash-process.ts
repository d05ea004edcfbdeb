/**
 * Runs the local Upstash-compatible server (scripts/local-upstash/cli.ts) in its own Node process, so
 * that in a load test it does not share an event loop with autocannon (in-process, the load generator
 * and the cache server slowed each other down: warm-cache throughput fell by two thirds).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface LocalUpstashProcess {
  url: string;
  token: string;
  backend: string;
  close(): Promise<void>;
}

export async function startLocalUpstashProcess(
  backend: 'redis-server' | 'auto' = 'redis-server',
): Promise<LocalUpstashProcess> {
  const child: ChildProcess = spawn(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(root, 'scripts/local-upstash/cli.ts'), '--port', '0', '--backend', backend],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const started = await new Promise<{ url: string; token: string; backend: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`local-upstash did not start in 20 s:\n${output}`)),
      20_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /UPSTASH_REDIS_REST_URL=(\S+)/.exec(output)?.[1];
      const token = /UPSTASH_REDIS_REST_TOKEN=(\S+)/.exec(output)?.[1];
      const kind = /local Upstash-compatible server \(([^)]+)\)/.exec(output)?.[1];
      if (url && token && kind) {
        clearTimeout(timer);
        resolve({ url, token, backend: kind });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local-upstash exited with ${code}:\n${output}`));
    });
  });
  return {
    ...started,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
