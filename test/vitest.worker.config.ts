import { defineConfig } from 'vitest/config';
import { SERIAL_WORKER_FILES, workerProject } from './support/worker-project';

/**
 * The workerd tests that can share their project's servers (MongoDB stand-in, Upstash, origins) with
 * other files running at the same time: each file runs in a workerd of its own (own Durable Objects,
 * queue, R2 and module state), tags what it writes to MongoDB with a run id of its own, and reads only
 * its own shoppers' or its own site's keys in Redis. So files run in parallel (vitest's `maxWorkers`,
 * vitest.config.ts), alongside the node project's files. The files that pause or stall MongoDB or
 * count every key in Redis are the `worker-serial` project (SERIAL_WORKER_FILES).
 */
export default defineConfig(
  await workerProject({
    name: 'worker',
    include: ['test/worker/**/*.test.ts', 'worker/**/*.test.ts'],
    exclude: SERIAL_WORKER_FILES,
    schedule: { fileParallelism: true },
  }),
);
