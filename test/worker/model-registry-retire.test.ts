/**
 * A bundle swapped out by a newer publish keeps its ONNX sessions for a grace period (requests that
 * started on it may still run it), then they are released (worker/src/models/registry.ts).
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../worker/src/env';
import { BundleRegistry, createSessions, type LoadedBundle } from '../../worker/src/models';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';
import { provided } from './edge-api-support';

/** registry.ts's RETIRE_GRACE_MS: how long a swapped-out bundle's sessions are kept. */
const GRACE_MS = 60_000;

const workerEnv = env as unknown as Env;

/** Uploads the v1 fixture bundle's files (its manifest says fixture-v1), without moving the pointer. */
async function putBundleFiles(bucket: R2Bucket, version: string): Promise<void> {
  for (const [file, base64] of Object.entries(provided().bundles.v1)) {
    await bucket.put(
      `bundles/${version}/${file}`,
      Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
    );
  }
}

/** Real sessions, each model's release() recorded as `version/role`. */
function recordingSessions() {
  const released: string[] = [];
  const create = async (verified: Parameters<typeof createSessions>[0]): Promise<LoadedBundle> => {
    const bundle = await createSessions(verified);
    for (const [role, model] of Object.entries(bundle.models)) {
      const release = model.release.bind(model);
      model.release = () => {
        released.push(`${bundle.version}/${role}`);
        return release();
      };
    }
    return bundle;
  };
  return { create, released };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BundleRegistry: a swapped-out bundle', () => {
  it('keeps its sessions for the grace period after a new publish, then releases them once', async () => {
    const bucket = workerEnv.MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    // Only the clock is faked: the registry reads Date.now() for when a bundle retired and is due.
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.UTC(2026, 10, 30, 12, 0, 0);
    vi.setSystemTime(start);

    const sessions = recordingSessions();
    const registry = new BundleRegistry({ createSessions: sessions.create, builtIn: defaultBundleSource });
    // Nothing published: the built-in bundle is served first (polling off, so only activateStored swaps).
    const env: Env = { ...workerEnv, MODEL_POLL_SECONDS: '3600' };
    const first = await registry.bundle(env);
    expect(first?.origin).toBe('default');
    const roles = Object.keys(first?.models ?? {}).sort();
    expect(roles).toEqual(['complements', 'personal', 'similar']);

    await putBundleFiles(bucket, 'fixture-v1');
    const swapped = await registry.activateStored(bucket, 'fixture-v1');
    expect(swapped.ok).toBe(true);
    expect((await registry.bundle(env))?.version).toBe('fixture-v1');
    expect(sessions.released).toEqual([]);

    // Still within the grace period (a request that began on the old bundle may be running it).
    vi.setSystemTime(start + GRACE_MS);
    expect((await registry.bundle(env))?.version).toBe('fixture-v1');
    expect(sessions.released).toEqual([]);

    // Past it: the next call releases every session of the old bundle, and none of the new one's.
    vi.setSystemTime(start + GRACE_MS + 1);
    await registry.bundle(env);
    expect(sessions.released.sort()).toEqual(roles.map((role) => `${first?.version}/${role}`));

    // Once only.
    vi.setSystemTime(start + 10 * GRACE_MS);
    await registry.bundle(env);
    expect(sessions.released).toHaveLength(roles.length);
    expect((await registry.health(env)).status).toBe('ok');
  }, 60_000);
});
