/**
 * Starts a worker for a given wrangler.toml under wrangler's local dev server (benchmarks only), waits
 * until `readyPath` answers, and stops the whole process group afterwards. Uses the same child as
 * `npm start` (scripts/dev/dev-worker-main.ts): the devtools inspector is off, since with it every
 * outbound fetch of the worker costs ~10 ms of CPU in wrangler's own processes.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/dev/ports';
import { startWranglerDev } from '../../scripts/dev/wrangler-dev';

export interface RunningWorker {
  url: string;
  /** The worker without wrangler's proxy worker in front, when wrangler said (see WranglerDev). */
  workerdUrl(): string | undefined;
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
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-'));
  const worker = await startWranglerDev({
    config: options.config,
    host,
    port: await freePort(host),
    vars: options.vars ?? {},
    runDir: dir,
    persistTo: path.join(dir, 'state'),
    readyPath: options.readyPath,
    readyTimeoutMs: options.timeoutMs,
    logLevel: 'warn',
  });
  return {
    url: worker.url,
    workerdUrl: () => worker.workerdUrl(),
    processGroup: worker.pid,
    stop: () => worker.stop(),
  };
}
