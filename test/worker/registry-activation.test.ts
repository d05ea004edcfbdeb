import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../worker/src/env';
import {
  BundleError,
  BundleRegistry,
  createSessions,
  type LoadedBundle,
  type VerifiedBundle,
} from '../../worker/src/models';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';
import { SESSION_REFUSAL_RETRY_MS, SHARED_ACTIVATION_WATCH_MAX_MS } from '../../worker/src/models/registry';
import { provided } from './edge-api-support';

const workerEnv = env as unknown as Env;

function bucketOf(): R2Bucket {
  if (!workerEnv.MODEL_STORE) throw new Error('MODEL_STORE binding missing');
  return workerEnv.MODEL_STORE;
}

/** Stores a fixture bundle's files under its own version (its manifest's), without the pointer. */
async function store(name: 'v1' | 'v2', version: string): Promise<void> {
  for (const [file, base64] of Object.entries(provided().bundles[name])) {
    await bucketOf().put(
      `bundles/${version}/${file}`,
      Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
    );
  }
}

/**
 * createSessions that waits for `release(version)` for the versions listed in `held`. `started`: the
 * versions whose session phase began; `made`: those whose sessions exist (the load is done, and the
 * activation goes on in the registry as soon as this returns).
 */
function gatedSessions(held: string[]) {
  const gates = new Map<string, () => void>();
  const waiting = new Map<string, Promise<void>>();
  for (const version of held) {
    waiting.set(version, new Promise<void>((resolve) => gates.set(version, resolve)));
  }
  const started: string[] = [];
  const made: string[] = [];
  const create = async (verified: VerifiedBundle): Promise<LoadedBundle> => {
    started.push(verified.version);
    await waiting.get(verified.version);
    const bundle = await createSessions(verified);
    made.push(verified.version);
    return bundle;
  };
  return { create, started, made, release: (version: string) => gates.get(version)?.() };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('condition never held');
}

afterEach(() => {
  vi.useRealTimers();
});

/** `bucket` as the registry sees it, with the key of every `get` pushed to `reads`. */
function recordingGets(bucket: R2Bucket, reads: string[]): R2Bucket {
  return new Proxy(bucket, {
    get(target, property) {
      if (property === 'get')
        return (key: string) => {
          reads.push(key);
          return target.get(key);
        };
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('BundleRegistry: a slow activation finishing last does not undo a later one', () => {
  it('drops the older load when a newer activation was asked for meanwhile, whichever finishes first', async () => {
    await store('v1', 'fixture-v1');
    await store('v2', 'fixture-v2');
    const sessions = gatedSessions(['fixture-v1']);
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });

    // A slow load of fixture-v1 (a poll, say) is in its session phase...
    const slow = registry.activateStored(bucketOf(), 'fixture-v1');
    await until(() => sessions.started.includes('fixture-v1'));
    // ...when the operator activates fixture-v2, which loads at once.
    const newer = await registry.activateStored(bucketOf(), 'fixture-v2');
    expect(newer.ok).toBe(true);
    expect((await registry.bundle(workerEnv))?.version).toBe('fixture-v2');

    sessions.release('fixture-v1');
    const outcome = await slow;
    expect(outcome).toMatchObject({ ok: false, superseded: true });
    expect((await registry.bundle(workerEnv))?.version).toBe('fixture-v2');
    expect((await registry.health(workerEnv)).detail).toMatch(/^serving fixture-v2/);
  }, 60_000);
});

/** The bucket, with its `get`s of `key` held until `release()`; `reached` when the first is asked for. */
function holdingGets(key: string) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reached = false;
  const bucket = new Proxy(bucketOf(), {
    get(target, property) {
      if (property === 'get')
        return async (asked: string) => {
          if (asked === key) {
            reached = true;
            await released;
          }
          return target.get(asked);
        };
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { bucket, release, reached: () => reached };
}

describe('BundleRegistry: an activation refused at verification supersedes nothing', () => {
  it('a good activation loading while a version with nothing stored is refused still succeeds and is served', async () => {
    await store('v1', 'fixture-v1');
    const sessions = gatedSessions(['fixture-v1']);
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
    const good = registry.activateStored(bucketOf(), 'fixture-v1');
    await until(() => sessions.started.includes('fixture-v1'));
    // Meanwhile someone activates a version that does not exist: refused (422 at the endpoint).
    const refused = await registry.activateStored(bucketOf(), 'fixture-nowhere');
    expect(refused).toMatchObject({ ok: false });
    expect(refused).not.toMatchObject({ superseded: true });
    sessions.release('fixture-v1');
    // Before, the refused one counted as a later activation: 409 activation_superseded for the good one.
    expect(await good).toMatchObject({ ok: true });
    expect((await registry.bundle(workerEnv))?.version).toBe('fixture-v1');
  }, 60_000);

  it('a load done while a later activation is still verifying waits to know: refused, it wins; verified, it is overtaken', async () => {
    await store('v1', 'fixture-v1');
    await store('v2', 'fixture-v2');
    for (const [later, wins] of [
      ['fixture-nowhere', 'fixture-v1'],
      ['fixture-v2', 'fixture-v2'],
    ] as const) {
      const sessions = gatedSessions(['fixture-v1']);
      const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
      const first = registry.activateStored(bucketOf(), 'fixture-v1');
      await until(() => sessions.started.includes('fixture-v1'));
      // The later activation is reading its manifest (held) when the first one's sessions are made.
      const held = holdingGets(`bundles/${later}/manifest.json`);
      const second = registry.activateStored(held.bucket, later);
      await until(held.reached);
      sessions.release('fixture-v1');
      // The first load is done (its sessions exist) while the later one is still held verifying.
      // `until` looks between timers, so the registry has gone on past its createSessions by then.
      await until(() => sessions.made.includes('fixture-v1'));
      held.release();
      const [firstOutcome, secondOutcome] = await Promise.all([first, second]);
      expect(firstOutcome).toMatchObject(
        wins === 'fixture-v1' ? { ok: true } : { ok: false, superseded: true },
      );
      expect(secondOutcome.ok).toBe(wins === later);
      expect((await registry.bundle(workerEnv))?.version).toBe(wins);
    }
  }, 60_000);
});

describe("BundleRegistry: an activation during a cold isolate's first load", () => {
  const coldIsolate = async (sessions: ReturnType<typeof gatedSessions>) => {
    await store('v1', 'fixture-v1');
    await bucketOf().put(
      'current.json',
      JSON.stringify({ version: 'fixture-v1', publishedAt: '2026-11-30' }),
    );
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
    const first = createExecutionContext();
    // The first request shows the published catalogue while the sessions are made (held here).
    expect((await registry.catalogue(workerEnv, first))?.version).toBe('fixture-v1');
    await until(() => sessions.started.includes('fixture-v1'));
    return { registry, first };
  };

  it('a refused one leaves the published bundle loading and then serving (it left nothing to serve)', async () => {
    const sessions = gatedSessions(['fixture-v1']);
    const { registry, first } = await coldIsolate(sessions);
    try {
      // The operator activates a version with nothing stored: refused.
      const refused = await registry.activateStored(bucketOf(), 'fixture-missing');
      expect(refused.ok).toBe(false);
      sessions.release('fixture-v1');
      await waitOnExecutionContext(first);
      expect((await registry.bundle(workerEnv))?.version).toBe('fixture-v1');
      expect((await registry.health(workerEnv)).status).not.toBe('down');
    } finally {
      await bucketOf().delete('current.json');
    }
  }, 60_000);

  it('one that succeeds first still wins: the first load finishing after it is dropped', async () => {
    await store('v2', 'fixture-v2');
    const sessions = gatedSessions(['fixture-v1']);
    const { registry, first } = await coldIsolate(sessions);
    try {
      expect((await registry.activateStored(bucketOf(), 'fixture-v2')).ok).toBe(true);
      sessions.release('fixture-v1');
      await waitOnExecutionContext(first);
      expect((await registry.bundle(workerEnv))?.version).toBe('fixture-v2');
    } finally {
      await bucketOf().delete('current.json');
    }
  }, 60_000);
});

describe('BundleRegistry: refusals by the session phase expire, content refusals do not', () => {
  it('tries a version whose sessions failed again at the first poll after SESSION_REFUSAL_RETRY_MS', async () => {
    await store('v1', 'fixture-v1');
    await store('v2', 'fixture-v2');
    const attempts: string[] = [];
    let failV2 = true;
    const registry = new BundleRegistry({
      createSessions: async (verified) => {
        attempts.push(verified.version);
        if (verified.version === 'fixture-v2' && failV2)
          throw new BundleError(verified.version, ['session could not be created (out of memory)']);
        return createSessions(verified);
      },
      builtIn: defaultBundleSource,
    });
    const pollAlways: Env = { ...workerEnv, MODEL_POLL_SECONDS: '0' };
    expect((await registry.activateStored(bucketOf(), 'fixture-v1')).ok).toBe(true);
    await bucketOf().put(
      'current.json',
      JSON.stringify({ version: 'fixture-v2', publishedAt: '2026-11-29' }),
    );
    const poll = async () => {
      const ctx = createExecutionContext();
      const bundle = await registry.bundle(pollAlways, ctx);
      await waitOnExecutionContext(ctx);
      return bundle;
    };
    try {
      await poll();
      expect(attempts).toEqual(['fixture-v1', 'fixture-v2']);
      expect((await registry.health(pollAlways)).detail).toMatch(/refused fixture-v2: .*out of memory/);
      // Refused: the next polls do not download it again...
      await poll();
      await poll();
      expect(attempts).toEqual(['fixture-v1', 'fixture-v2']);
      // ...until the refusal has expired; then it loads.
      failV2 = false;
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + SESSION_REFUSAL_RETRY_MS + 1_000);
      await poll();
      expect(attempts).toEqual(['fixture-v1', 'fixture-v2', 'fixture-v2']);
      expect((await registry.bundle(pollAlways))?.version).toBe('fixture-v2');
    } finally {
      await bucketOf().delete('current.json');
    }
  }, 60_000);

  it('never tries again a version refused for its files (a checksum)', async () => {
    for (const [file, base64] of Object.entries(provided().bundles.corrupt)) {
      await bucketOf().put(
        `bundles/fixture-corrupt/${file}`,
        Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
      );
    }
    await store('v1', 'fixture-v1');
    const attempts: string[] = [];
    const reads: string[] = [];
    const bucket = bucketOf();
    const counting = recordingGets(bucket, reads);
    const registry = new BundleRegistry({
      createSessions: async (verified) => {
        attempts.push(verified.version);
        return createSessions(verified);
      },
      builtIn: defaultBundleSource,
    });
    const pollAlways: Env = { ...workerEnv, MODEL_STORE: counting, MODEL_POLL_SECONDS: '0' };
    expect((await registry.activateStored(bucket, 'fixture-v1')).ok).toBe(true);
    await bucket.put(
      'current.json',
      JSON.stringify({ version: 'fixture-corrupt', publishedAt: '2026-11-29' }),
    );
    const poll = async () => {
      const ctx = createExecutionContext();
      await registry.bundle(pollAlways, ctx);
      await waitOnExecutionContext(ctx);
    };
    try {
      await poll();
      const manifestReads = () =>
        reads.filter((key) => key === 'bundles/fixture-corrupt/manifest.json').length;
      expect(manifestReads()).toBe(1);
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + SESSION_REFUSAL_RETRY_MS + 1_000);
      await poll();
      expect(manifestReads()).toBe(1);
      expect((await registry.bundle(pollAlways))?.version).toBe('fixture-v1');
    } finally {
      await bucket.delete('current.json');
    }
  }, 60_000);
});

describe("BundleRegistry: a cold isolate's published version refused for its files", () => {
  it('is not downloaded again by the next first load (nothing served, DEMO_BUNDLE=false); a new publish is', async () => {
    for (const [file, base64] of Object.entries(provided().bundles.corrupt)) {
      await bucketOf().put(
        `bundles/fixture-corrupt/${file}`,
        Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
      );
    }
    await store('v1', 'fixture-v1');
    const bucket = bucketOf();
    const reads: string[] = [];
    const counting = recordingGets(bucket, reads);
    // A deployed shop (no demo bundle) whose isolate retries its first load on every request.
    const deployed: Env = {
      ...workerEnv,
      MODEL_STORE: counting,
      MODEL_POLL_SECONDS: '0',
      DEMO_BUNDLE: 'false',
    };
    const registry = new BundleRegistry();
    const bundleReads = () => reads.filter((key) => key.startsWith('bundles/fixture-corrupt/')).length;
    const load = async () => {
      const ctx = createExecutionContext();
      const bundle = await registry.bundle(deployed, ctx);
      await waitOnExecutionContext(ctx);
      return bundle;
    };
    await bucket.put(
      'current.json',
      JSON.stringify({ version: 'fixture-corrupt', publishedAt: '2026-12-02' }),
    );
    try {
      expect(await load()).toBeUndefined();
      const afterRefusal = bundleReads();
      expect(afterRefusal).toBeGreaterThan(0);
      expect(await load()).toBeUndefined();
      expect(await load()).toBeUndefined();
      // Its files cannot change (a stored version is immutable): read once, refused once.
      expect(bundleReads()).toBe(afterRefusal);
      const health = await registry.health(deployed);
      expect(health.status).toBe('down');
      expect(health.detail).toMatch(
        /no model bundle loaded: model bundle fixture-corrupt refused: .*similar\.onnx/,
      );
      // A version published after it is loaded by the next first load.
      await bucket.put('current.json', JSON.stringify({ version: 'fixture-v1', publishedAt: '2026-12-02' }));
      expect((await load())?.version).toBe('fixture-v1');
    } finally {
      await bucket.delete('current.json');
    }
  }, 60_000);
});

describe('BundleRegistry: two activations of one version at once', () => {
  it('share one load (both ok, sessions created once); a shared load that failed is tried again', async () => {
    await store('v1', 'fixture-v1');
    const sessions = gatedSessions(['fixture-v1']);
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
    const first = registry.activateStored(bucketOf(), 'fixture-v1');
    await until(() => sessions.started.includes('fixture-v1'));
    // A retried publish of the same version asks while the first load creates its sessions.
    const second = registry.activateStored(bucketOf(), 'fixture-v1');
    sessions.release('fixture-v1');
    expect(await first).toMatchObject({ ok: true });
    expect(await second).toMatchObject({ ok: true });
    expect(sessions.started).toEqual(['fixture-v1']);

    // fixture-v2 before its complements.onnx is stored: the first load reads it missing...
    const files = Object.entries(provided().bundles.v2);
    const late = 'complements.onnx';
    await bucketOf().delete(`bundles/fixture-v2/${late}`);
    for (const [file, base64] of files) {
      if (file !== late)
        await bucketOf().put(
          `bundles/fixture-v2/${file}`,
          Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
        );
    }
    let releaseRead = () => {};
    const readHeld = new Promise<void>((resolve) => {
      releaseRead = resolve;
    });
    let lateRead = false;
    const holding = new Proxy(bucketOf(), {
      get(target, property) {
        if (property === 'get')
          return async (key: string) => {
            const object = await target.get(key);
            if (key.endsWith(late) && !lateRead) {
              lateRead = true;
              await readHeld;
            }
            return object;
          };
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const missing = registry.activateStored(holding, 'fixture-v2');
    await until(() => lateRead);
    // ...the file is stored, and the publisher that stored it asks for the activation, sharing that load.
    const [, base64] = files.find(([file]) => file === late) ?? ['', ''];
    await bucketOf().put(
      `bundles/fixture-v2/${late}`,
      Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
    );
    const retried = registry.activateStored(holding, 'fixture-v2');
    releaseRead();
    expect(await missing).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/complements\.onnx is missing/)],
    });
    expect(await retried).toMatchObject({ ok: true });
    expect((await registry.bundle(workerEnv))?.version).toBe('fixture-v2');
  }, 60_000);
});

describe('BundleRegistry: a second activation of a version watches the shared load, never awaits it', () => {
  it('loads the version itself when the load it joined never ends (its request cancelled), past SHARED_ACTIVATION_WATCH_MAX_MS', async () => {
    await store('v1', 'fixture-v1');
    // The first load's request is cancelled mid-load: workerd never settles its promises again.
    let calls = 0;
    const registry = new BundleRegistry({
      createSessions: async (verified) => {
        calls += 1;
        if (calls === 1) await new Promise<never>(() => {});
        return createSessions(verified);
      },
      builtIn: defaultBundleSource,
    });
    void registry.activateStored(bucketOf(), 'fixture-v1');
    await until(() => calls === 1);
    // A retried publish of the same version joins that load (and starts watching it now)...
    const second = registry.activateStored(bucketOf(), 'fixture-v1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    // ...and stops once the bound has passed. Before, it awaited the dead load's promise for ever.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + SHARED_ACTIVATION_WATCH_MAX_MS + 1_000);
    const answer = await Promise.race([
      second,
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 10_000)),
    ]);
    expect(answer).toMatchObject({ ok: true });
    expect(calls).toBe(2);
    expect((await registry.bundle(workerEnv))?.version).toBe('fixture-v1');
  }, 60_000);
});
