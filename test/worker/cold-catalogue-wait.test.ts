/**
 * A cold isolate whose model store is slow: shoppers' requests wait for the first load's catalogue at
 * most CATALOGUE_WAIT_MS, are then answered without it (recommendations `source: "none"`, prices
 * `[]`), the load goes on in the background and a later request finds it, and `/healthz` shows the
 * load in progress. Before, the request that started the load waited for all of it (the store's
 * budgets allow 5 s for the pointer and 20 s for each file, one after another) and the others up to
 * 10 s, while the plugin gives up on a call after 5 s.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../worker/src/app';
import type { Env } from '../../worker/src/env';
import { BundleRegistry, createSessions } from '../../worker/src/models';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';
import { CATALOGUE_WAIT_MS } from '../../worker/src/models/registry';
import { edgeEnv, provided } from './edge-api-support';

const workerEnv = env as unknown as Env;

/**
 * The test's model store with fixture bundle v1 published, whose bundle files are not
 * answered until `open()`: a store that is slow, not failing (each read stays within its budget).
 */
async function heldStore() {
  const version = 'fixture-v1';
  const bucket = workerEnv.MODEL_STORE;
  if (!bucket) throw new Error('MODEL_STORE binding missing');
  for (const [file, base64] of Object.entries(provided().bundles.v1)) {
    await bucket.put(
      `bundles/${version}/${file}`,
      Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
    );
  }
  await bucket.put('current.json', JSON.stringify({ version, publishedAt: '2026-12-01' }));
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let held = 0;
  const store = {
    get: async (key: string) => {
      if (key.startsWith('bundles/')) {
        held += 1;
        await gate;
      }
      return bucket.get(key);
    },
    head: (key: string) => bucket.head(key),
  } as unknown as R2Bucket;
  return { store, open: () => open(), held: () => held };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The promise's value, or 'still waiting' when it takes longer than `ms` (the old code's hang). */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, sleep(ms).then(() => 'still waiting' as const)]);

describe('BundleRegistry.catalogue: a bounded wait for a cold isolate', () => {
  it('answers without a catalogue past its wait, reports the load in progress, and serves it once loaded', async () => {
    const { store, open, held } = await heldStore();
    const wait = 200;
    const registry = new BundleRegistry({
      createSessions,
      builtIn: defaultBundleSource,
      catalogueWaitMs: wait,
    });
    const slowEnv: Env = { ...workerEnv, MODEL_STORE: store };
    const ctx = createExecutionContext();
    // The request that starts the load, then another one: each answered without a catalogue in time.
    expect(await within(registry.catalogue(slowEnv, ctx), wait + 2_000)).toBeUndefined();
    expect(held()).toBeGreaterThan(0);
    expect(await within(registry.catalogue(slowEnv, createExecutionContext()), wait + 2_000)).toBeUndefined();
    const health = await within(registry.health(slowEnv), wait + 2_000);
    expect(health).toMatchObject({ status: 'degraded' });
    expect(health === 'still waiting' ? '' : health.detail).toMatch(
      /^first model load in progress for \d+ s \(reading the bundle, no catalogue yet\); 2 request\(s\) answered without a catalogue/,
    );

    // The load went on in the background (the first request's waitUntil): a later request finds it.
    open();
    await waitOnExecutionContext(ctx);
    const catalogue = await registry.catalogue(slowEnv, createExecutionContext());
    expect(catalogue?.version).toBe('fixture-v1');
    expect((await registry.health(slowEnv)).status).toBe('ok');
  }, 30_000);
});

describe('the API on a cold isolate whose model store is slow', () => {
  const app = createApp();

  it(`answers /v1/recommendations and /v1/prices within ${CATALOGUE_WAIT_MS} ms, /healthz says why, and serves once loaded`, async () => {
    const { store, open } = await heldStore();
    const slowEnv = edgeEnv({ MODEL_STORE: store });
    const request = (path: string, ctx: ExecutionContext) =>
      within(
        Promise.resolve(app.request(`https://rx.test${path}`, {}, slowEnv, ctx)),
        CATALOGUE_WAIT_MS + 2_000,
      );

    // This file's isolate is cold: the first request starts the load, which the store holds.
    const first = createExecutionContext();
    const recommendations = await request('/v1/recommendations?placement=home&limit=4', first);
    if (recommendations === 'still waiting')
      throw new Error('/v1/recommendations still waiting for the catalogue');
    expect(recommendations.status).toBe(200);
    expect(await recommendations.json()).toMatchObject({ source: 'none', model_version: 'none', items: [] });

    const prices = await request('/v1/prices?product_ids=P10001', createExecutionContext());
    if (prices === 'still waiting') throw new Error('/v1/prices still waiting for the catalogue');
    expect(prices.status).toBe(200);
    expect(await prices.json()).toMatchObject({ prices: [] });

    const health = await request('/healthz', createExecutionContext());
    if (health === 'still waiting') throw new Error('/healthz still waiting for the load');
    const report = (await health.json()) as {
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(report.components.models?.status).toBe('degraded');
    expect(report.components.models?.detail).toMatch(/^first model load in progress/);

    open();
    await waitOnExecutionContext(first);
    const later = await request('/v1/recommendations?placement=home&limit=4', createExecutionContext());
    if (later === 'still waiting') throw new Error('still waiting after the load');
    const body = (await later.json()) as { model_version: string; items: unknown[] };
    expect(body.model_version).toBe('fixture-v1');
    expect(body.items).toHaveLength(4);
  }, 60_000);
});
