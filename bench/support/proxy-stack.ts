import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Stack, startStack } from '../../scripts/dev/stack';
import { startLocalUpstashProcess } from './local-upstash-process';
import { type ServiceProcess, startServiceProcess } from './service-process';

/**
 * Runs a proxy benchmark against the local stack: the demo shop (origin), local Upstash on
 * redis-server and local MongoDB each in a process of its own (as they are other machines in
 * production, and so that none shares an event loop with autocannon), and the worker under wrangler,
 * with every shopper in the treatment bucket and wrangler's per-request log off (it would be measured
 * too). On failure the worker's last log lines are printed; everything is always stopped.
 */
export async function withProxyBenchStack<T>(
  run: (stack: Stack) => Promise<T>,
  options: { originDelayMs?: number } = {},
): Promise<T> {
  const services: Array<{ close(): Promise<void> }> = [];
  const mongoDir = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-mongo-'));
  const workerLog: string[] = [];
  let stack: Stack | undefined;
  try {
    const upstash = await startLocalUpstashProcess('redis-server');
    services.push(upstash);
    const mongo: ServiceProcess = await startServiceProcess(
      'scripts/local-mongo/cli.ts',
      ['--port', '0', '--data', mongoDir],
      /local-mongo listening on (mongodb:\/\/\S+) /,
    );
    services.push(mongo);
    const shop = await startServiceProcess(
      'scripts/demo-shop/cli.ts',
      ['--port', '0', '--delay-ms', String(options.originDelayMs ?? 0)],
      /demo shop: (http:\/\/\S+)\r?\n/,
    );
    services.push(shop);
    const originUrl = shop.ready[1] ?? '';
    stack = await startStack({
      workerVars: {
        HOLDOUT_PERCENT: '0',
        LOG_LEVEL: 'warn',
        ORIGIN_URL: originUrl,
        SHOP_ORIGINS: originUrl,
        // The origin is the demo shop (started here, with its delay), whose catalogue the built-in bundle has.
        DEMO_BUNDLE: 'true',
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
        MONGODB_URI: mongo.ready[1] ?? '',
      },
      wranglerLogLevel: 'warn',
      onWorkerOutput: (line) => workerLog.push(line),
      readyTimeoutMs: 150_000,
    });
    return await run({
      ...stack,
      upstash: { url: upstash.url, token: upstash.token, backend: upstash.backend },
    });
  } catch (error) {
    console.error(workerLog.slice(-20).join('\n'));
    throw error;
  } finally {
    await stack?.stop();
    for (const service of services.reverse()) await service.close();
    rmSync(mongoDir, { recursive: true, force: true });
  }
}
