import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: fileURLToPath(new URL('../wrangler.toml', import.meta.url)) },
      miniflare: {
        bindings: { SITE_ID: 'test', LOG_LEVEL: 'warn' },
      },
    }),
  ],
  test: {
    name: 'worker',
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/worker/**/*.test.ts', 'worker/**/*.test.ts'],
    globalSetup: [
      'test/support/proxy-origin.global-setup.ts',
      'test/support/edge-api.global-setup.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
