import { type Stack, startStack } from '../../scripts/dev/stack';

/**
 * Runs a proxy benchmark against the local stack (demo shop, local Upstash and MongoDB, the worker):
 * every shopper in the treatment bucket, wrangler's per-request log off (it would be measured too).
 * On failure the worker's last log lines are printed; the stack is always stopped.
 */
export async function withProxyBenchStack<T>(run: (stack: Stack) => Promise<T>): Promise<T> {
  const workerLog: string[] = [];
  const stack = await startStack({
    workerVars: { HOLDOUT_PERCENT: '0', LOG_LEVEL: 'warn' },
    wranglerLogLevel: 'warn',
    onWorkerOutput: (line) => workerLog.push(line),
    readyTimeoutMs: 150_000,
  });
  try {
    return await run(stack);
  } catch (error) {
    console.error(workerLog.slice(-20).join('\n'));
    throw error;
  } finally {
    await stack.stop();
  }
}
