import { defineConfig } from 'vitest/config';
import { SERIAL_WORKER_FILES, workerProject } from './support/worker-project';

/**
 * The workerd tests that need their servers to themselves (SERIAL_WORKER_FILES says why for each):
 * one file at a time, on a MongoDB stand-in, a redis-server and origins of this project's own (its
 * globalSetup), and after the parallel projects have finished (`groupOrder: 1`; vitest runs groups
 * one after another, lowest first), so nothing else runs on the machine while events-outage.test.ts
 * and events-stall.test.ts time MongoDB's absence.
 */
export default defineConfig(
  await workerProject({
    name: 'worker-serial',
    include: SERIAL_WORKER_FILES,
    schedule: { fileParallelism: false, sequence: { groupOrder: 1 } },
  }),
);
