/**
 * The vitest project config of the tests that run inside workerd (@cloudflare/vitest-pool-workers),
 * shared by the two worker projects: `worker` (test/vitest.worker.config.ts, files in parallel) and
 * `worker-serial` (test/vitest.worker-serial.config.ts, one file at a time, after everything else).
 * Each project starts its own servers in globalSetup (MongoDB stand-in, Upstash on its own
 * redis-server, proxy origin and demo shop), so what a serial file does to its MongoDB or Redis never
 * reaches a file of the other project.
 */
import { fileURLToPath } from 'node:url';
import { configDefaults, type ViteUserConfig } from 'vitest/config';
import { dataModulesForWorkerd } from './data-modules-for-workerd';
import { mongodbForWorkerd } from './mongodb-for-workerd';
import { ortWasmForWorkerd } from './ort-wasm-for-workerd';
import { trustTestCa } from './trust-test-ca';

/**
 * The files that need the project's servers to themselves, so they run in `worker-serial`:
 * - events-outage.test.ts pauses its MongoDB for many seconds, events-consumer.test.ts pauses it
 *   briefly and events-stall.test.ts makes it accept connections and answer nothing: any other file
 *   running meanwhile would see its MongoDB writes fail or hang. A stand-in per file is not possible:
 *   events-outage drives the whole path (SELF → real local queue → queue consumer → EventWriter
 *   Durable Object), all of which read MONGODB_URI from the project's bindings; the pool has no
 *   per-file bindings, and a per-test env reaches neither the queue consumer nor the Durable Object.
 * - user-hash.integration.test.ts checks that a shopper without a USER_HASH_KEY leaves nothing in
 *   Redis by the whole database's key count (DBSIZE), which any other file's cache writes would raise.
 */
export const SERIAL_WORKER_FILES = [
  'test/worker/events-outage.test.ts',
  'test/worker/events-consumer.test.ts',
  'test/worker/events-stall.test.ts',
  'test/worker/user-hash.integration.test.ts',
];

const WRANGLER_TOML = fileURLToPath(new URL('../../wrangler.toml', import.meta.url));

/**
 * wrangler.toml's queue consumers with every setting as it says (batch size, retries, retry delay, dead
 * letters) but for `max_batch_timeout`: a partial batch goes to the consumer after 0.2 s instead of 2 s.
 * Every test that posts events and waits for them in MongoDB waited out the 2 s (events-intake,
 * events-segment-compat, events-outbox, ...: about 45 tests). What they check is where the events end
 * up, not when a batch closes; requests sent together still share a batch.
 */
async function quickQueueConsumers(): Promise<Record<string, object>> {
  const { unstable_getMiniflareWorkerOptions } = await import('wrangler');
  const consumers = unstable_getMiniflareWorkerOptions(WRANGLER_TOML).workerOptions.queueConsumers ?? {};
  const entries = Array.isArray(consumers)
    ? consumers.map((queue): [string, object] => [queue, {}])
    : Object.entries(consumers).map(([queue, options]): [string, object] => [
        queue,
        { ...(options as object) },
      ]);
  return Object.fromEntries(entries.map(([queue, options]) => [queue, { ...options, maxBatchTimeout: 0.2 }]));
}

/** The packages the worker imports at run time (worker/src, contracts), by every entry it uses. */
const WORKER_PACKAGES = [
  'zod',
  'hono',
  'hono/body-limit',
  'hono/cors',
  'hono/http-exception',
  'hono/request-id',
  'hono/router',
  '@hono/zod-validator',
  '@upstash/redis/cloudflare',
  'lru-cache',
];

interface WorkerProjectOptions {
  name: string;
  include: string[];
  exclude?: string[];
  /** Settings of the project's scheduling (fileParallelism, sequence.groupOrder), with their reason. */
  schedule: { fileParallelism?: boolean; sequence?: { groupOrder: number } };
}

export async function workerProject(options: WorkerProjectOptions): Promise<ViteUserConfig> {
  // Before the pool (and with it miniflare) is loaded: see trust-test-ca.ts.
  trustTestCa();
  const { cloudflareTest } = await import('@cloudflare/vitest-pool-workers');
  const queueConsumers = await quickQueueConsumers();
  return {
    plugins: [
      // onnxruntime-web's .wasm without the pool's slow path for binary modules (see the file).
      ortWasmForWorkerd(),
      // The built-in model bundle's files (Data modules), the same way (see the file).
      dataModulesForWorkerd(),
      // A function, so bindings can use what globalSetup provides (started servers' addresses).
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: WRANGLER_TOML },
        miniflare: {
          queueConsumers,
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
      name: options.name,
      root: fileURLToPath(new URL('../..', import.meta.url)),
      include: options.include,
      exclude: [...configDefaults.exclude, ...(options.exclude ?? [])],
      // Per project, so each worker project has servers of its own (see the top of this file).
      globalSetup: [
        'test/support/proxy-origin.global-setup.ts',
        'test/support/local-mongo.global-setup.ts',
        'test/support/edge-api.global-setup.ts',
      ],
      ...options.schedule,
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // The worker's packages pre-bundled, one module each. The pool inlines every dependency
      // (`server.deps.inline`), so each test file's workerd fetched zod (about 100 files, its locales
      // included), hono (about 30) and the rest one module at a time: 2-4 s of every file's import.
      // Every runtime import of these packages is listed, so the worker never mixes a pre-bundled copy
      // with a second, file-by-file one (an HTTPException of one copy is no instance of the other's).
      deps: { optimizer: { ssr: { enabled: true, include: WORKER_PACKAGES } } },
    },
  };
}
