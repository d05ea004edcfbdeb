import type { Env } from '../env';
import {
  type ComponentHealth,
  componentHealth,
  registerHealthProbe,
  reportFailure,
  reportRecovery,
} from '../health';
import { log } from '../log';
import { BundleError, type BundleSource, type LoadedBundle, loadBundle, releaseModels } from './bundle';
import { defaultBundleSource } from './default-bundle';
import { readPointer, storeBundleSource } from './model-store';

/**
 * The bundle this isolate serves. Sessions are created once per isolate and reused by every request;
 * a newer published bundle is loaded beside the current one and swapped in only once it is fully
 * verified and its sessions exist, so a bad bundle never replaces a good one.
 */
interface RegistryState {
  current?: LoadedBundle;
  initial?: Promise<void>;
  refreshing?: Promise<void>;
  lastPollAt: number;
  /** Versions refused in this isolate, with why and when: not downloaded again on every poll. */
  refused: Map<string, { reason: string; at: number }>;
  /** When the first load of the isolate last failed (no bundle at all): retried only after the poll interval. */
  initialFailedAt?: number;
  /** Bundles swapped out; their sessions are released after a grace period (requests may still use them). */
  retired: Array<{ bundle: LoadedBundle; at: number }>;
}

const state: RegistryState = { lastPollAt: 0, refused: new Map(), retired: [] };
const DEFAULT_POLL_SECONDS = 30;
const RETIRE_GRACE_MS = 60_000;

function pollIntervalMs(env: Pick<Env, 'MODEL_POLL_SECONDS'>): number {
  const seconds = Number(env.MODEL_POLL_SECONDS ?? DEFAULT_POLL_SECONDS);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_POLL_SECONDS * 1000;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Loads a source and makes it current; on failure keeps what is served and reports why. */
async function tryActivate(source: BundleSource, label: string): Promise<LoadedBundle | undefined> {
  try {
    const bundle = await loadBundle(source);
    if (source.origin === 'store' && bundle.version !== label) {
      // A published folder must hold the version it is published as, or cache keys would lie.
      await releaseModels(bundle.models);
      throw new BundleError(label, [
        `manifest.json says version ${bundle.version}, it was published as ${label}`,
      ]);
    }
    const previous = state.current;
    state.current = bundle;
    if (previous && previous !== bundle) state.retired.push({ bundle: previous, at: Date.now() });
    reportRecovery('models');
    log('info', 'model_bundle_loaded', {
      version: bundle.version,
      origin: bundle.origin,
      models: Object.keys(bundle.models),
    });
    return bundle;
  } catch (error) {
    const version = error instanceof BundleError ? error.version : label;
    state.refused.set(label, { reason: describe(error), at: Date.now() });
    reportFailure('models', error);
    log('error', 'model_bundle_refused', {
      version,
      source: label,
      error,
      keeping: state.current?.version ?? null,
    });
    return undefined;
  }
}

async function loadInitial(env: Env): Promise<void> {
  if (env.MODEL_STORE) {
    try {
      const pointer = await readPointer(env.MODEL_STORE);
      if (
        pointer &&
        (await tryActivate(storeBundleSource(env.MODEL_STORE, pointer.version), pointer.version))
      )
        return;
    } catch (error) {
      reportFailure('models', error);
      log('error', 'model_store_unreadable', { error });
    }
  }
  const builtIn = defaultBundleSource();
  if (builtIn) await tryActivate(builtIn, 'default');
  else log('warn', 'model_bundle_missing', { hint: 'no default bundle embedded and none published' });
}

/** Checks the store's pointer and activates a newer, not yet refused version. */
async function refresh(env: Env): Promise<void> {
  const bucket = env.MODEL_STORE;
  if (!bucket) return;
  try {
    const pointer = await readPointer(bucket);
    if (!pointer || pointer.version === state.current?.version || state.refused.has(pointer.version)) return;
    await tryActivate(storeBundleSource(bucket, pointer.version), pointer.version);
  } catch (error) {
    reportFailure('models', error);
    log('error', 'model_store_unreadable', { error });
  }
}

function releaseRetired(): void {
  const now = Date.now();
  const due = state.retired.filter((entry) => now - entry.at > RETIRE_GRACE_MS);
  if (due.length === 0) return;
  state.retired = state.retired.filter((entry) => !due.includes(entry));
  for (const { bundle } of due) void releaseModels(bundle.models);
}

/**
 * The bundle to serve, or undefined when none could be loaded (callers then answer without a model).
 * The first call of an isolate loads the published bundle, else the built-in one; later calls that pass
 * `ctx` check the store at most every `MODEL_POLL_SECONDS` (default 30) in the background (`ctx.waitUntil`).
 */
export async function getBundle(
  env: Env,
  ctx?: Pick<ExecutionContext, 'waitUntil'>,
): Promise<LoadedBundle | undefined> {
  if (!state.current) {
    // Nothing loadable: do not re-run a failing load (CPU-heavy) on every request.
    if (state.initialFailedAt !== undefined && Date.now() - state.initialFailedAt < pollIntervalMs(env))
      return undefined;
    state.initial ??= loadInitial(env).finally(() => {
      state.initial = undefined;
      state.lastPollAt = Date.now();
      state.initialFailedAt = state.current ? undefined : Date.now();
    });
    await state.initial;
    return state.current;
  }
  const now = Date.now();
  // Only callers that can keep the isolate working after their response (ctx) start a refresh:
  // a detached promise may be cancelled with its request and would leave `refreshing` stuck.
  if (ctx && env.MODEL_STORE && !state.refreshing && now - state.lastPollAt >= pollIntervalMs(env)) {
    state.lastPollAt = now;
    state.refreshing = refresh(env).finally(() => {
      state.refreshing = undefined;
    });
    ctx.waitUntil(state.refreshing);
  }
  releaseRetired();
  return state.current;
}

/**
 * Loads a published version now and makes it current if it verifies (the admin publish endpoint uses
 * this so a bad upload is refused before the pointer moves). Returns the problems when refused.
 */
export async function activateStoredBundle(
  bucket: R2Bucket,
  version: string,
): Promise<{ ok: true; bundle: LoadedBundle } | { ok: false; problems: string[] }> {
  state.refused.delete(version);
  const bundle = await tryActivate(storeBundleSource(bucket, version), version);
  if (bundle) return { ok: true, bundle };
  const reason = state.refused.get(version)?.reason ?? 'unknown';
  return { ok: false, problems: [reason] };
}

/** `/healthz` loads the bundle if this isolate has none yet, so the report is about a real attempt. */
async function modelsHealth(env: Env): Promise<ComponentHealth> {
  const current = await getBundle(env);
  if (!current) {
    const reasons = [...state.refused.values()].map((r) => r.reason).join('; ');
    return { status: 'down', detail: `no model bundle loaded${reasons ? `: ${reasons}` : ''}`.slice(0, 300) };
  }
  // Only refusals since the served bundle was activated count: a later good publish clears the state.
  const refused = [...state.refused.entries()].filter(
    ([version, refusal]) => version !== current.version && refusal.at >= current.loadedAt,
  );
  const detail = `serving ${current.version} (${current.origin}); models: ${Object.keys(current.models).join(', ') || 'none'}`;
  if (refused.length > 0) {
    const [version, refusal] = refused[refused.length - 1] ?? ['?', { reason: '?' }];
    return { status: 'degraded', detail: `${detail}; refused ${version}: ${refusal.reason}`.slice(0, 300) };
  }
  // Model runs that failed recently (reported by the recommendation path) degrade the component too.
  const recent = componentHealth('models', true);
  if (recent.status === 'degraded') {
    return { ...recent, detail: `${detail}; ${recent.detail ?? 'recent failure'}`.slice(0, 300) };
  }
  return { status: 'ok', detail };
}

registerHealthProbe('models', modelsHealth);
