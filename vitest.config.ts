import os from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Three projects: `node` (trainer, local servers, scripts, browser tests) runs in Node; `worker` and
 * `worker-serial` run inside workerd through @cloudflare/vitest-pool-workers (see
 * test/support/worker-project.ts for why two).
 *
 * `node` and `worker` run together, files in parallel; `worker-serial` runs after them, one file at a
 * time (its `sequence.groupOrder`).
 */
export default defineConfig({
  test: {
    projects: [
      'test/vitest.node.config.ts',
      'test/vitest.worker.config.ts',
      'test/vitest.worker-serial.config.ts',
    ],
    // At least two files at a time. vitest's default in `run` is one fewer than the CPUs, which is one
    // file at a time on a 2-CPU machine (CI's), while much of a file's time is waiting: a workerd or a
    // Chromium starting, the worker's module graph loading, servers answering, a plugin's timers.
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
  },
});
