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
          MONGODB_DB: inject('mongoDb'),
          SEGMENT_WRITE_KEY: 'test-segment-write-key',
          // As a deployment has it (wrangler secret put): without it nothing is kept per shopper.
          USER_HASH_KEY: 'test-user-hash-key-0123456789abcdef',
          // Tests read /healthz right after changing what it reports (events held, then delivered; a
          // second env): no reuse of a probe's answer. healthz-probes.test.ts sets its own period.
          HEALTH_PROBE_CACHE_SECONDS: '0',
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
    // One test file at a time. events-outage.test.ts pauses the one local MongoDB for minutes (and
    // events-consumer.test.ts briefly), and any other file running meanwhile would see its MongoDB
    // writes fail. A stand-in of their own is not possible: events-outage drives the whole path
    // (SELF → real local queue → queue consumer → EventWriter Durable Object), all of which read
    // MONGODB_URI from the bindings above, fixed for the whole project; the pool has no per-file
    // bindings, and a per-test env reaches neither the queue consumer nor the Durable Object.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
