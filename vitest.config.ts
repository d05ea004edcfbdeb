import { defineConfig } from 'vitest/config';

/**
 * Two projects: `node` (trainer, local servers, scripts, browser tests) runs in Node;
 * `worker` runs inside workerd through @cloudflare/vitest-pool-workers.
 */
export default defineConfig({
  test: {
    projects: ['test/vitest.node.config.ts', 'test/vitest.worker.config.ts'],
  },
});
