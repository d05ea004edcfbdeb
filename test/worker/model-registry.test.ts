import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../worker/src/app-env';
import type { Env } from '../../worker/src/env';
import { countInProgress } from '../../worker/src/middleware/in-progress';
import {
  BundleRegistry,
  createSessions,
  type LoadedBundle,
  type VerifiedBundle,
} from '../../worker/src/models';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';
import { provided } from './edge-api-support';

/** The session phase held until `open()`, optionally failing for bundles of one origin. */
function heldSessions(fail?: VerifiedBundle['origin']) {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const versions: string[] = [];
  const create = async (verified: VerifiedBundle): Promise<LoadedBundle> => {
    versions.push(verified.version);
    await gate;
    if (verified.origin === fail) throw new Error(`sessions of ${verified.version} failed`);
    return createSessions(verified);
  };
  return { create, open: () => open(), versions };
}

/** Whether a promise has settled, readable at any time. */
function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  const done = () => {
    state.settled = true;
  };
  promise.then(done, done);
  return state;
}

const workerEnv = env as unknown as Env;
const builtInOnly: Env = { ...workerEnv, MODEL_STORE: undefined };

describe("BundleRegistry: an isolate's first load", () => {
  it('shows the verified catalogue before the sessions exist, then serves the loaded bundle', async () => {
    const sessions = heldSessions();
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
    const ctx = createExecutionContext();
    const full = registry.bundle(builtInOnly, ctx);
    const fullState = watch(full);

    const catalogue = await registry.catalogue(builtInOnly, ctx);
    expect(catalogue?.byId.has('85123A')).toBe(true);
    expect(catalogue?.items.length).toBe(catalogue?.manifest.catalogue.count);
    expect(catalogue && 'models' in catalogue).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fullState.settled).toBe(false);
    // A second caller during the session phase gets the same catalogue, and no second load starts.
    expect(await registry.catalogue(builtInOnly, ctx)).toBe(catalogue);
    expect(sessions.versions).toEqual([catalogue?.version]);

    sessions.open();
    const loaded = await full;
    expect(loaded?.version).toBe(catalogue?.version);
    expect(Object.keys(loaded?.models ?? {}).sort()).toEqual(['complements', 'personal', 'similar']);
    expect(await registry.catalogue(builtInOnly, ctx)).toBe(loaded);
    expect((await registry.health(builtInOnly)).status).toBe('ok');
    await waitOnExecutionContext(ctx);
    expect(sessions.versions).toHaveLength(1);
  }, 60_000);

  it('stops showing a catalogue whose sessions fail, and /healthz says why', async () => {
    const sessions = heldSessions('default');
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
    const ctx = createExecutionContext();
    expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();

    sessions.open();
    expect(await registry.bundle(builtInOnly, ctx)).toBeUndefined();
    expect(await registry.catalogue(builtInOnly, ctx)).toBeUndefined();
    const health = await registry.health(builtInOnly);
    expect(health.status).toBe('down');
    expect(health.detail).toMatch(/sessions of .* failed/);
    await waitOnExecutionContext(ctx);
  });

  it('a published bundle whose sessions fail gives way to the built-in one, catalogue and all', async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    for (const [file, base64] of Object.entries(provided().bundles.v1)) {
      await bucket.put(
        `bundles/fixture-v1/${file}`,
        Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
      );
    }
    await bucket.put('current.json', JSON.stringify({ version: 'fixture-v1', publishedAt: '2026-11-28' }));
    const sessions = heldSessions('store');
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
    const ctx = createExecutionContext();

    expect((await registry.catalogue(workerEnv, ctx))?.version).toBe('fixture-v1');
    sessions.open();
    const loaded = await registry.bundle(workerEnv, ctx);
    expect(loaded?.origin).toBe('default');
    expect(sessions.versions).toEqual(['fixture-v1', loaded?.version]);
    // The refused catalogue is not served any longer: prices and cache keys follow the served bundle.
    expect((await registry.catalogue(workerEnv, ctx))?.version).toBe(loaded?.version);
    await waitOnExecutionContext(ctx);
    await bucket.delete('current.json');
  }, 60_000);
});

describe('BundleRegistry: the session phase waits for a moment between requests', () => {
  function countingRegistry() {
    const created: string[] = [];
    const registry = new BundleRegistry({
      createSessions: (verified) => {
        created.push(verified.version);
        return createSessions(verified);
      },
      builtIn: defaultBundleSource,
    });
    return { registry, created };
  }

  it('creates no session while a request is in progress, and does once none is', async () => {
    const { registry, created } = countingRegistry();
    const ctx = createExecutionContext();
    const answered = registry.busy();
    const catalogue = await registry.catalogue(builtInOnly, ctx);
    expect(catalogue?.byId.has('85123A')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(created).toEqual([]);
    answered();
    answered(); // idempotent: a second call must not count another request as finished
    await waitOnExecutionContext(ctx);
    expect(created).toEqual([catalogue?.version]);
    const served = await registry.catalogue(builtInOnly, ctx);
    expect(Object.keys((served as LoadedBundle | undefined)?.models ?? {})).toHaveLength(3);
  }, 60_000);

  it('waits for a quiet moment: a request that comes soon after the last one ended postpones the sessions', async () => {
    const { registry, created } = countingRegistry();
    const ctx = createExecutionContext();
    const first = registry.busy();
    expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();
    first();
    // The plugin's second call, or a page's next request, 10 ms later (the quiet period is 50 ms).
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = registry.busy();
    await new Promise((resolve) => setTimeout(resolve, 10));
    second();
    expect(created).toEqual([]);
    await waitOnExecutionContext(ctx);
    expect(created).toHaveLength(1);
  }, 60_000);

  it('does not make a caller that needs the models (bundle(): /healthz, admin) wait for idle', async () => {
    const { registry, created } = countingRegistry();
    const ctx = createExecutionContext();
    const answered = registry.busy();
    expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();
    const bundle = await registry.bundle(builtInOnly, ctx);
    expect(bundle?.models.similar).toBeDefined();
    expect(created).toHaveLength(1);
    answered();
    await waitOnExecutionContext(ctx);
  }, 60_000);

  it('creates the sessions anyway when the isolate is never idle (bounded deferral)', async () => {
    const { registry, created } = countingRegistry();
    const ctx = createExecutionContext();
    registry.busy(); // never released
    expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();
    await waitOnExecutionContext(ctx);
    expect(created).toHaveLength(1);
  }, 60_000);
});

describe('countInProgress middleware', () => {
  it('counts a request in progress until its answer is made', async () => {
    const order: string[] = [];
    const app = new Hono<AppEnv>();
    app.use(
      countInProgress(() => {
        order.push('in progress');
        return () => order.push('answered');
      }),
    );
    app.get('/v1/ok', (c) => {
      order.push('answer');
      return c.text('ok');
    });
    app.get('/v1/fails', () => {
      order.push('answer');
      throw new Error('handler failed');
    });
    expect(await (await app.request('/v1/ok', {}, env)).text()).toBe('ok');
    expect(order).toEqual(['in progress', 'answer', 'answered']);
    // A failing handler is answered too (Hono's error handler), and must not stay counted forever.
    order.length = 0;
    expect((await app.request('/v1/fails', {}, env)).status).toBe(500);
    expect(order).toEqual(['in progress', 'answer', 'answered']);
  });
});
