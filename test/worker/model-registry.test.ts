import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
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
import { POINTER_READ_BUDGET_MS } from '../../worker/src/models/model-store';
import { provided } from './edge-api-support';
import { countingRegistry } from './registry-support';

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

/** Publishes a fixture bundle (v1 unless named) as `npm run models:publish` leaves it: files, then the pointer. */
async function putFixture(
  bucket: R2Bucket,
  version: string,
  name: keyof ReturnType<typeof provided>['bundles'] = 'v1',
): Promise<void> {
  for (const [file, base64] of Object.entries(provided().bundles[name])) {
    await bucket.put(
      `bundles/${version}/${file}`,
      Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
    );
  }
  await bucket.put('current.json', JSON.stringify({ version, publishedAt: '2026-11-28' }));
}
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

  it("never serves the built-in bundle in place of the shop's published one: nothing, then a retry", async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    await putFixture(bucket, 'fixture-v1');
    const retryAtOnce: Env = { ...workerEnv, MODEL_POLL_SECONDS: '0' };
    let failures = 1;
    const versions: string[] = [];
    const registry = new BundleRegistry({
      createSessions: async (verified) => {
        versions.push(verified.version);
        if (verified.origin === 'store' && failures-- > 0) throw new Error('sessions of fixture-v1 failed');
        return createSessions(verified);
      },
      builtIn: defaultBundleSource,
    });
    const ctx = createExecutionContext();

    // The built-in bundle (the demo catalogue) would show another shop's products: not served.
    expect(await registry.bundle(retryAtOnce, ctx)).toBeUndefined();
    expect(versions).toEqual(['fixture-v1']);
    const health = await registry.health(workerEnv);
    expect(health.status).toBe('down');
    expect(health.detail).toMatch(/sessions of fixture-v1 failed/);
    // Tried again once the poll interval has passed (0 s here), and then served.
    expect((await registry.bundle(retryAtOnce, ctx))?.version).toBe('fixture-v1');
    await waitOnExecutionContext(ctx);
    await bucket.delete('current.json');
  }, 60_000);

  it('an unreadable model store serves nothing rather than the built-in bundle, and says so', async () => {
    const failing = {
      get: async () => {
        throw new Error('R2 answered 503');
      },
    } as unknown as R2Bucket;
    const registry = new BundleRegistry();
    const env: Env = { ...workerEnv, MODEL_STORE: failing };
    expect(await registry.bundle(env)).toBeUndefined();
    expect(await registry.catalogue(env, createExecutionContext())).toBeUndefined();
    const health = await registry.health(env);
    expect(health.status).toBe('down');
    expect(health.detail).toMatch(/model store unreadable: R2 answered 503/);
  });

  it('a model store that hangs instead of failing: the load gives up within its budget, and says so', async () => {
    const hanging = { get: () => new Promise<never>(() => {}) } as unknown as R2Bucket;
    const registry = new BundleRegistry();
    const env: Env = { ...workerEnv, MODEL_STORE: hanging };
    // The store never answers, so that the load ends at all is the budget at work; the health detail
    // names it. No wall-clock check: the test's own timeout catches a load that hangs.
    expect(await registry.catalogue(env, createExecutionContext())).toBeUndefined();
    const health = await registry.health(env);
    expect(health.status).toBe('down');
    expect(health.detail).toMatch(
      new RegExp(`model store unreadable: .*took longer than ${POINTER_READ_BUDGET_MS} ms`),
    );
  }, 30_000);

  it('a published version that could not be read is tried again at the next poll, not refused for good', async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    let failReads = 0;
    const flaky = {
      get: async (key: string) => {
        if (key.startsWith('bundles/') && failReads > 0) {
          failReads -= 1;
          throw new Error('R2 answered 503');
        }
        return bucket.get(key);
      },
    } as unknown as R2Bucket;
    const env: Env = { ...workerEnv, MODEL_STORE: flaky, MODEL_POLL_SECONDS: '0' };
    const registry = new BundleRegistry();
    // Nothing published yet: the built-in bundle is served.
    const first = createExecutionContext();
    expect((await registry.bundle(env, first))?.origin).toBe('default');
    await waitOnExecutionContext(first);

    await putFixture(bucket, 'fixture-v1');
    failReads = 1;
    const poll = createExecutionContext();
    await registry.bundle(env, poll); // polls in the background: the read fails
    await waitOnExecutionContext(poll);
    expect((await registry.bundle(env))?.origin).toBe('default');
    const again = createExecutionContext();
    await registry.bundle(env, again); // the next poll reads it
    await waitOnExecutionContext(again);
    expect((await registry.bundle(env))?.version).toBe('fixture-v1');
    await bucket.delete('current.json');
  }, 60_000);
});

describe('BundleRegistry: the built-in demo bundle only where DEMO_BUNDLE=true', () => {
  it('a worker deployed as wrangler.toml ships it (off) serves nothing until a publish, and says why', async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    const deployed: Env = { ...workerEnv, DEMO_BUNDLE: 'false', MODEL_POLL_SECONDS: '0' };
    const registry = new BundleRegistry();
    const ctx = createExecutionContext();
    expect(await registry.bundle(deployed, ctx)).toBeUndefined();
    expect(await registry.catalogue(deployed, ctx)).toBeUndefined();
    // Waiting for a publish is not an outage (the shop is untouched): like a cache not configured.
    const health = await registry.health(deployed);
    expect(health).toMatchObject({ status: 'disabled' });
    expect(health.detail).toMatch(/no model bundle published yet \(npm run models:publish\).*DEMO_BUNDLE/);

    // Another isolate's publish is found at the next first-load retry (poll interval 0 s here).
    await putFixture(bucket, 'fixture-v1');
    expect((await registry.bundle(deployed, ctx))?.version).toBe('fixture-v1');
    expect((await registry.health(deployed)).status).toBe('ok');
    await waitOnExecutionContext(ctx);
    await bucket.delete('current.json');
  }, 60_000);

  // After a code update that refuses what an older one published (.rx-data/ keeps the local model
  // store), `npm start` served no models at all, and nothing said to publish again.
  it('DEMO_BUNDLE=true: a published bundle this worker refuses gives way to the built-in one, and /healthz says so', async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    // A model file whose bytes do not match the manifest's checksum: refused for what it holds.
    await putFixture(bucket, 'fixture-corrupt', 'corrupt');
    const local: Env = { ...workerEnv, DEMO_BUNDLE: 'true', MODEL_POLL_SECONDS: '0' };
    const registry = new BundleRegistry();
    const ctx = createExecutionContext();
    const served = await registry.bundle(local, ctx);
    expect(served?.origin).toBe('default');
    const health = await registry.health(local);
    expect(health.status).toBe('degraded');
    expect(health.detail).toMatch(
      /^serving the built-in demo bundle \S+ \(DEMO_BUNDLE=true\) in place of the published fixture-corrupt, which this worker refuses \(publish one it accepts: npm run models:publish\): model bundle fixture-corrupt refused: .*similar\.onnx/,
    );
    await waitOnExecutionContext(ctx);

    // A publish it accepts is picked up at the next poll, and /healthz is ok again.
    await putFixture(bucket, 'fixture-v1');
    const poll = createExecutionContext();
    await registry.bundle(local, poll);
    await waitOnExecutionContext(poll);
    expect((await registry.bundle(local))?.version).toBe('fixture-v1');
    expect(await registry.health(local)).toMatchObject({ status: 'ok' });
    await bucket.delete('current.json');
  }, 60_000);

  it('DEMO_BUNDLE=false: a refused published bundle is never replaced by the built-in one', async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    await putFixture(bucket, 'fixture-corrupt', 'corrupt');
    const deployed: Env = { ...workerEnv, DEMO_BUNDLE: 'false' };
    const registry = new BundleRegistry();
    expect(await registry.bundle(deployed)).toBeUndefined();
    const health = await registry.health(deployed);
    expect(health.status).toBe('down');
    expect(health.detail).toMatch(/no model bundle loaded: model bundle fixture-corrupt refused/);
    await bucket.delete('current.json');
  }, 60_000);

  it('a published version refused for its manifest is named in /healthz, not shown as "?"', async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    await putFixture(bucket, 'fixture-no-manifest');
    await bucket.delete('bundles/fixture-no-manifest/manifest.json');
    const deployed: Env = { ...workerEnv, DEMO_BUNDLE: 'false' };
    const registry = new BundleRegistry();
    try {
      expect(await registry.bundle(deployed)).toBeUndefined();
      expect((await registry.health(deployed)).detail).toBe(
        'no model bundle loaded: model bundle fixture-no-manifest refused: manifest.json is missing',
      );
    } finally {
      await bucket.delete('current.json');
    }
  }, 60_000);

  it('unset means off too, even without a model store', async () => {
    const { DEMO_BUNDLE: _, ...unset } = builtInOnly;
    const registry = new BundleRegistry();
    expect(await registry.bundle(unset as Env)).toBeUndefined();
    expect((await registry.health(unset as Env)).status).toBe('disabled');
    // With the setting on, the same isolate state serves the built-in bundle.
    expect((await new BundleRegistry().bundle({ ...builtInOnly, DEMO_BUNDLE: 'TRUE ' }))?.origin).toBe(
      'default',
    );
  });

  it('a value that is neither true nor false is named in /healthz (down) and counts as off', async () => {
    const registry = new BundleRegistry();
    const misconfigured: Env = { ...builtInOnly, DEMO_BUNDLE: 'yes' };
    expect(await registry.bundle(misconfigured)).toBeUndefined();
    const health = await registry.health(misconfigured);
    expect(health.status).toBe('down');
    expect(health.detail).toContain('DEMO_BUNDLE must be true or false, got "yes"');
  });
});

describe('BundleRegistry: the session phase waits for a moment between requests', () => {
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
    // The registry's clock and timers faked: the 50 ms quiet period is measured in steps this test
    // takes, not in how punctually a busy machine fires real timers.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const first = registry.busy();
      expect(await registry.catalogue(builtInOnly, ctx)).toBeDefined();
      first();
      // The plugin's second call, or a page's next request, 10 ms later (the quiet period is 50 ms).
      await vi.advanceTimersByTimeAsync(10);
      const second = registry.busy();
      await vi.advanceTimersByTimeAsync(10);
      second();
      // 55 ms after the first request ended, but 45 after the second: not yet.
      await vi.advanceTimersByTimeAsync(45);
      expect(created).toEqual([]);
      // 50 ms after the second ended: now.
      await vi.advanceTimersByTimeAsync(10);
      expect(created).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
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

  it("/healthz's first load runs under the request's waitUntil (a client gone mid-load cannot cancel what later requests wait on)", async () => {
    const { registry, created } = countingRegistry();
    const kept: Promise<unknown>[] = [];
    const report = await registry.health(builtInOnly, { waitUntil: (promise) => kept.push(promise) });
    expect(report.status).toBe('ok');
    expect(created).toHaveLength(1);
    expect(kept.length).toBeGreaterThan(0);
    await Promise.all(kept);
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
