import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { mongodbForWorkerd } from './support/mongodb-for-workerd';

export default defineConfig({
  plugins: [
    // A function, so bindings can use what globalSetup provides (started servers' addresses).
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: fileURLToPath(new URL('../wrangler.toml', import.meta.url)) },
      miniflare: {
        bindings: {
          SITE_ID: 'test',
          // The tests run on the built-in bundle unless they publish one (wrangler.toml ships "false").
          DEMO_BUNDLE: 'true',
          LOG_LEVEL: 'warn',
          MONGODB_URI: inject('mongoUri'),
          SEGMENT_WRITE_KEY: 'test-segment-write-key',
        },
      },
    })),
  ],
  // The mongodb driver pre-bundled for workerd (see test/support/mongodb-for-workerd.ts for why).
  resolve: { alias: { mongodb: await mongodbForWorkerd() } },
  test: {
    name: 'worker',
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/worker/**/*.test.ts', 'worker/**/*.test.ts'],
    globalSetup: [
      'test/support/proxy-origin.global-setup.ts',
      'test/support/local-mongo.global-setup.ts',
      'test/support/edge-api.global-setup.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
