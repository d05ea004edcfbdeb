import { setting } from '../config';
import type { Env } from '../env';
import {
  type ComponentHealth,
  componentHealth,
  publicDetail,
  registerHealthProbe,
  reportFailure,
  reportRecovery,
} from '../health';
import { log } from '../log';
import { logRepeating } from '../log-repeating';
import { DeadlineError, withDeadline } from '../with-deadline';
import {
  type BundleCatalogue,
  BundleError,
  type BundleSource,
  createSessions,
  type LoadedBundle,
  releaseModels,
  type VerifiedBundle,
  verifyBundle,
} from './bundle';
import { defaultBundleSource, demoBundleSetting } from './default-bundle';
import { ModelStoreError, readPointer, type StorePointer, storeBundleSource } from './model-store';

type Background = Pick<ExecutionContext, 'waitUntil'>;

/** What the registry loads with; tests swap `createSessions` to hold or fail the session phase. */
export interface RegistryDependencies {
  createSessions: (verified: VerifiedBundle) => Promise<LoadedBundle>;
  builtIn: () => BundleSource | undefined;
  /** MAX_SESSION_DEFERRAL_MS unless a test makes it long, to tell "waited for it" from "did not wait". */
  maxSessionDeferralMs?: number;
  /** CATALOGUE_WAIT_MS unless a test makes it shorter. */
  catalogueWaitMs?: number;
}

/**
 * Creating the first ORT session of an isolate is one synchronous block (~0.37 s measured locally: no
 * timer fires during it), and everything the isolate is doing waits for it. So a first load's session
 * phase waits for a quiet moment (see below), at most this long (an isolate that is never quiet must
 * get its models too), unless a caller needs the models now (`bundle()`).
 */
const MAX_SESSION_DEFERRAL_MS = 1_000;
/**
 * Quiet: no request in progress (`busy`) and none started for this long. Requests come in bursts (the
 * plugin's two calls, a page and what it loads), and the block should not fall inside one: with only
 * "none in progress", one of the plugin's two parallel calls met it in 2 of 5 benchmark rounds.
 */
const QUIET_BEFORE_SESSIONS_MS = 50;
/**
 * How often a first load waiting for quiet looks again: it is never woken by another request (see
 * `sessionPhaseMayStart`), so a caller that needs the models now waits at most this long for it.
 */
const QUIET_POLL_MS = 10;
const RETIRE_GRACE_MS = 60_000;
/**
 * How long a version whose sessions could not be created stays refused. Unlike a checksum or a
 * manifest, that can be the isolate's doing (memory short while another bundle's sessions still
 * lived, a runtime fault) as much as the graph's, so it is tried again at the first poll after this;
 * a graph this runtime truly refuses costs one download and one failed attempt per isolate per period.
 */
export const SESSION_REFUSAL_RETRY_MS = 5 * 60_000;

export function pollIntervalMs(env: Pick<Env, 'MODEL_POLL_SECONDS'>): number {
  return setting(env, 'MODEL_POLL_SECONDS') * 1000;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How long a shopper's request waits for a cold isolate's catalogue (`catalogue()`: `/v1/recommendations`,
 * `/v1/prices`, a proxied page's slots and prices) before it is answered without one: recommendations
 * `source: "none"` with no items, prices `[]`, slots left as the shop made them. The first load goes on
 * in the background (the request that started it keeps it going with `waitUntil`), and a later request
 * finds its catalogue. Reading a bundle from the store has budgets of its own (model-store.ts: 5 s for
 * the pointer, 20 s for each file, one file after another), so a store that is slow rather than down
 * could hold a request for over a minute; the plugin gives up on a call after 5 s, so an answer must
 * come well before that. `/healthz` shows such a load as it goes (`models: degraded`, "first model load
 * in progress for …").
 */
export const CATALOGUE_WAIT_MS = 3_000;

/** How often a request waiting for a first load another request started looks at its state. */
const LOAD_WATCH_POLL_MS = 5;
/** Past this, a waiter stops watching a first load (its request may have been cancelled) and answers without. */
const LOAD_WATCH_MAX_MS = 10_000;

/**
 * Waits, on timers of this request's own, until `done()` holds (true), or `maxMs` passed (false). For
 * a request waiting on a load that another request started (an isolate's first load, an activation of
 * the same version): awaiting that request's promise leaves the waiter with nothing pending of its
 * own, and under load workerd cancels such a request as hung (its own 500, "code had hung"; seen on
 * /healthz, docs/benchmarks.md), so it watches plain state.
 */
async function watchUntil(done: () => boolean, maxMs = LOAD_WATCH_MAX_MS): Promise<boolean> {
  const giveUpAt = Date.now() + maxMs;
  while (!done()) {
    if (Date.now() >= giveUpAt) return false;
    await sleep(LOAD_WATCH_POLL_MS);
  }
  return true;
}

/**
 * Whether `promise` (this request's own) settles within `ms`, on a timer of this request's own; a
 * rejection counts as settled (the caller reads the state it left).
 */
async function settlesWithin(promise: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (!promise) return true;
  if (ms <= 0) return false;
  try {
    await withDeadline(promise, ms, 'The first model load');
    return true;
  } catch (error) {
    return !(error instanceof DeadlineError);
  }
}

/**
 * Past this, a second activation of a version stops watching the load it joined (its request may have
 * been cancelled, so it would never end) and loads the version itself. Longer than LOAD_WATCH_MAX_MS:
 * an activation loads a whole bundle of up to 32 MB, sessions and all, on a caller that waits for it.
 */
export const SHARED_ACTIVATION_WATCH_MAX_MS = 60_000;

/**
 * Makes an admin activation public by moving the store's pointer to it (a compare-and-swap:
 * model-store.ts writePointer): `moved` says why it could not (another activation moved the pointer
 * first). Run once the bundle's sessions exist and just before the isolate swaps to it, so an isolate
 * never serves, from an activation, a version the pointer was not moved to.
 */
export type PublishActivation = () => Promise<{ published: StorePointer } | { moved: string }>;

/**
 * What an activation of a stored version came to (the admin endpoint answers with it). A failure is
 * `refused` (the bundle's content: a checksum, the manifest, a graph), `storeFailed` (the model store
 * could not be read, or the pointer not moved: nothing is known against the bundle), or neither (an
 * unexpected error).
 */
export type StoredActivationOutcome =
  | { ok: true; bundle: LoadedBundle; published?: StorePointer }
  | {
      ok: false;
      problems: string[];
      superseded?: true;
      pointerMoved?: true;
      refused?: true;
      storeFailed?: true;
    };

/** How one load meant to become current ended (BundleRegistry.tryActivate). */
type ActivationResult =
  | { bundle: LoadedBundle; published?: StorePointer }
  | { failure: string; refused?: { version: string; reason: string }; storeFailed?: true }
  | { superseded: string }
  | { pointerMoved: string };

/** What the admin endpoint is told of a stored version's activation. */
function storedOutcome(outcome: ActivationResult): StoredActivationOutcome {
  if ('superseded' in outcome) return { ok: false, problems: [outcome.superseded], superseded: true };
  if ('pointerMoved' in outcome) return { ok: false, problems: [outcome.pointerMoved], pointerMoved: true };
  if ('failure' in outcome) {
    const problems = [outcome.failure];
    if (outcome.refused) return { ok: false, problems, refused: true };
    if (outcome.storeFailed) return { ok: false, problems, storeFailed: true };
    return { ok: false, problems };
  }
  const { bundle, published } = outcome;
  return published ? { ok: true, bundle, published } : { ok: true, bundle };
}

/**
 * The bundle an isolate serves. Sessions are created once per isolate and reused by every request;
 * a newer published bundle is loaded beside the current one and swapped in only once it is fully
 * verified and its sessions exist, so a bad bundle never replaces a good one.
 *
 * An isolate's first load comes in two phases. Verifying the files and parsing the catalogue takes
 * tens of ms; creating the ORT sessions takes ~0.3-0.5 s more, almost all of it ORT's WebAssembly
 * runtime starting, in one synchronous block that stalls everything else the isolate is doing. So:
 * - the verified catalogue is shown at once to whatever can answer without a model (`catalogue()`:
 *   prices, popularity, cache hits, and misses while the sessions do not exist yet);
 * - the session phase waits for a quiet moment: no shopper's request in progress (`busy()`) and none
 *   started for 50 ms, so the block falls between bursts of requests, unless a caller needs the
 *   models now (`bundle()`: /healthz, admin); at most 1 s.
 * A swap to a newer bundle is still all or nothing, and not deferred: the current one serves meanwhile.
 *
 * The registry lives as long as the isolate, so its requests meet here, and workerd ties each promise
 * to the request it was created in: one resolved from another request's context has its continuations
 * moved to the creating request, and cancelled once that request is over ("A promise was resolved or
 * rejected from a different request context..."). So no request ever calls a resolver another request
 * created. Nor does a request await another request's promise: with nothing pending of its own it
 * can be cancelled as hung under load (seen on /healthz, docs/benchmarks.md), so a request that finds
 * the first load started by another watches its state on timers of its own (watchUntil). What one
 * request tells another (in progress, ended, models wanted) is plain state, read the same way.
 */
export class BundleRegistry {
  private current: LoadedBundle | undefined;
  /** The first load's verified catalogue while its sessions are being created. */
  private warming: BundleCatalogue | undefined;
  private initial: Promise<void> | undefined;
  /**
   * Settles when the first load under way has a catalogue to show, or has ended. Created and settled
   * by the load itself, in the request context that started it; other requests only await it.
   */
  private initialCatalogue: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private lastPollAt = 0;
  /**
   * Versions refused in this isolate for what they hold (a checksum, the manifest, a graph), with why
   * and when: not downloaded again on every poll. A version that could not be read (the store failing)
   * is not refused: it is tried again at the next poll. A refusal by the session phase expires at
   * `retryAt` (SESSION_REFUSAL_RETRY_MS); one for the files' content never does.
   */
  private readonly refused = new Map<string, { reason: string; at: number; retryAt?: number }>();
  /**
   * Activations asked for so far (loads of a bundle meant to become current), which numbers them. A
   * load that ends after a later one was asked for and verified its files is dropped, whichever
   * finishes first: a slow poll of the old version must not undo an operator's activation of a newer
   * one that finished before it. A later one that is refused at verification drops nothing.
   */
  private activationsRequested = 0;
  /**
   * Activations (by number) still verifying their bundle's files: not yet known to go on to load it.
   * One refused there (a version with nothing stored, a checksum) supersedes nothing.
   */
  private readonly verifying = new Set<number>();
  /**
   * The latest activation (by number) whose bundle verified and so went on to load: what overtakes the
   * activations asked for before it.
   */
  private latestLoading = 0;
  /**
   * The admin activation loading now, which a second activation of the same version shares
   * (activateStored). `settled` is its outcome as plain state, set by the load when it ends: what the
   * sharers watch, since `outcome` belongs to the request that started the load.
   */
  private storedActivation:
    | {
        bucket: R2Bucket;
        version: string;
        activation: number;
        outcome: Promise<StoredActivationOutcome>;
        settled?: StoredActivationOutcome;
      }
    | undefined;
  /** Why the last load failed, whatever the cause: what /healthz says when nothing is served. */
  private lastFailure: string | undefined;
  /**
   * The last first load found nothing published and the built-in bundle switched off (`DEMO_BUNDLE`):
   * not a failure but a worker waiting for `models:publish`; `problem` when the setting itself is wrong.
   */
  private awaitingPublish: { problem?: string } | undefined;
  /**
   * The built-in bundle is served because the published version was refused (and `DEMO_BUNDLE=true`):
   * which version and why, for /healthz. Cleared once a published bundle is served.
   */
  private standingInFor: { version: string; reason: string } | undefined;
  /** How long a shopper's request waits for a first load (CATALOGUE_WAIT_MS unless a test says). */
  private get catalogueWaitMs(): number {
    return this.deps.catalogueWaitMs ?? CATALOGUE_WAIT_MS;
  }

  /** When the first load under way started (`Date.now()`), for /healthz. */
  private initialStartedAt = 0;
  /** Requests of the first load under way answered without a catalogue (CATALOGUE_WAIT_MS ran out). */
  private answeredWithoutCatalogue = 0;
  /** When the first load of the isolate last failed (no bundle at all): retried only after the poll interval. */
  private initialFailedAt: number | undefined;
  /** Bundles swapped out; their sessions are released after a grace period (requests may still use them). */
  private retired: Array<{ bundle: LoadedBundle; at: number }> = [];
  /** Shoppers' requests in progress (see `busy`). */
  private inProgress = 0;
  /** When a shopper's request last started or ended (`Date.now()`): quiet begins 50 ms after. */
  private lastRequestActivityAt = 0;
  /** A caller of `bundle()` is waiting for the sessions: the session phase may not wait for idle. */
  private sessionsWanted = false;

  constructor(
    private readonly deps: RegistryDependencies = { createSessions, builtIn: defaultBundleSource },
  ) {}

  /**
   * The bundle to serve with its sessions, or undefined when none could be loaded (callers then answer
   * without a model). The first call of an isolate loads the published bundle, else the built-in one
   * where `DEMO_BUNDLE=true`;
   * later calls that pass `ctx` check the store at most every `MODEL_POLL_SECONDS` (default 30) in the
   * background (`ctx.waitUntil`).
   */
  async bundle(env: Env, ctx?: Background): Promise<LoadedBundle | undefined> {
    if (!this.current) {
      // Read by a first load waiting for quiet at its next look (QUIET_POLL_MS), not a wake-up call.
      this.sessionsWanted = true;
      const started = this.startInitial(env, ctx);
      if (started?.mine) await started.load;
      else if (started) await watchUntil(() => this.initial !== started.load);
      return this.current;
    }
    this.pollInBackground(env, ctx);
    this.releaseRetired();
    return this.current;
  }

  /**
   * What serving needs when it runs no model: the current bundle, or during an isolate's first load
   * its verified catalogue as soon as there is one. `ctx` keeps the load running after this request
   * has its answer. Waits for a first load at most CATALOGUE_WAIT_MS (undefined past it: the caller
   * answers without a catalogue, as when there is none), the load going on in the background.
   */
  async catalogue(env: Env, ctx: Background): Promise<BundleCatalogue | undefined> {
    const giveUpAt = Date.now() + this.catalogueWaitMs;
    for (;;) {
      if (this.current) return this.bundle(env, ctx);
      if (this.warming) return this.warming;
      const started = this.startInitial(env, ctx);
      if (!started) return undefined;
      const shown = () => this.initial !== started.load || this.warming !== undefined || !!this.current;
      let inTime: boolean;
      if (started.mine) {
        // This request's own load and timer: awaited, not watched.
        inTime = await settlesWithin(this.initialCatalogue, giveUpAt - Date.now());
        // A catalogue shown and withdrawn again (its sessions failed): wait for that load to end.
        if (inTime && this.initial === started.load && !this.warming && !this.current)
          inTime = await settlesWithin(started.load, giveUpAt - Date.now());
      } else {
        // Another request's load: watched, not awaited (watchUntil). One that shows nothing in time
        // (slow, or its request cancelled without waitUntil) is not waited on any longer: answer without.
        inTime = await watchUntil(shown, Math.min(LOAD_WATCH_MAX_MS, giveUpAt - Date.now()));
      }
      if (!inTime && !shown()) {
        this.answeredWithoutCatalogue += 1;
        logRepeating('warn', 'model_catalogue_wait_exceeded', {
          waitedMs: this.catalogueWaitMs,
          loadingForMs: Date.now() - this.initialStartedAt,
          hint: 'a cold isolate still reading its model bundle: this request was answered without a catalogue (recommendations source none, prices [])',
        });
        return undefined;
      }
      if (!this.initial && !this.current) return undefined;
    }
  }

  /**
   * Marks a shopper's request as in progress until the returned function is called (idempotent). A
   * first load's session phase waits for a moment when none is, so that its synchronous block falls
   * between requests instead of inside one (a proxied page mid-stream, say). Only counts: the session
   * phase looks at the count on its own timers, so neither call settles a promise of another request.
   */
  busy(): () => void {
    this.inProgress += 1;
    this.lastRequestActivityAt = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inProgress -= 1;
      this.lastRequestActivityAt = Date.now();
    };
  }

  /**
   * Loads a published version now and makes it current if it verifies (the admin publish endpoint uses
   * this so a bad upload is refused before the pointer moves). Returns the problems when refused.
   *
   * An activation of the version already loading here, with no other asked for since (one refused at
   * verification does not count: see latestLoading), shares that load (a retried publish racing the
   * run it retries, two publishers of the same bundle) instead
   * of overtaking it: the same files (a stored version never changes) would be loaded twice at once,
   * and the first caller told its activation was superseded although its version is the one published.
   * If the shared load fails, this one tries again by itself: it may have begun before the last file
   * was stored; so it does when the shared load could not move the pointer (this caller may have
   * started after the activation that moved it, so its own compare-and-swap can succeed).
   *
   * `publish` moves the store's pointer once the bundle is loaded (PublishActivation); without it the
   * isolate swaps to the bundle and nothing else is written (tests). `ctx` keeps a load that other
   * requests may share running if its own caller goes away.
   */
  async activateStored(
    bucket: R2Bucket,
    version: string,
    publish?: PublishActivation,
    ctx?: Background,
  ): Promise<StoredActivationOutcome> {
    const loading = this.storedActivation;
    if (
      loading &&
      loading.bucket === bucket &&
      loading.version === version &&
      !this.askedLater(loading.activation)
    ) {
      // Another request's load: watched on this request's own timers, never awaited (watchUntil).
      await watchUntil(() => loading.settled !== undefined, SHARED_ACTIVATION_WATCH_MAX_MS);
      const shared = loading.settled;
      if (shared && (shared.ok || shared.superseded)) return shared;
      // A load that never ended (its request cancelled): not shared again.
      if (!shared && this.storedActivation === loading) this.storedActivation = undefined;
      // Ask again: share a load another caller has started since (that one settled), else start one.
      return this.activateStored(bucket, version, publish, ctx);
    }
    return this.startStoredActivation(bucket, version, publish, ctx);
  }

  /** Whether an activation asked for after `activation` is verifying, or went on to load. */
  private askedLater(activation: number): boolean {
    return this.latestLoading > activation || this.verifyingAfter(activation);
  }

  /** Whether an activation asked for after `activation` is still verifying its files. */
  private verifyingAfter(activation: number): boolean {
    for (const other of this.verifying) if (other > activation) return true;
    return false;
  }

  private startStoredActivation(
    bucket: R2Bucket,
    version: string,
    publish?: PublishActivation,
    ctx?: Background,
  ): Promise<StoredActivationOutcome> {
    this.refused.delete(version);
    // tryActivate takes its activation number before its first await.
    const loading = this.tryActivate(storeBundleSource(bucket, version), version, undefined, publish);
    const entry: NonNullable<BundleRegistry['storedActivation']> = {
      bucket,
      version,
      activation: this.activationsRequested,
      outcome: loading.then((outcome): StoredActivationOutcome => {
        if (this.storedActivation === entry) this.storedActivation = undefined;
        entry.settled = storedOutcome(outcome);
        return entry.settled;
      }),
    };
    this.storedActivation = entry;
    ctx?.waitUntil(entry.outcome);
    return entry.outcome;
  }

  /**
   * `/healthz` loads the bundle if this isolate has none yet, so the report is about a real attempt;
   * with the request's `ctx`, so that load (which later requests wait on) outlives a client that goes away.
   */
  async health(env: Env, ctx?: Background): Promise<ComponentHealth> {
    const current = await this.bundleWithin(env, ctx, this.catalogueWaitMs);
    if (!current && this.initial) {
      // A first load still going after the wait a shopper's request gets (a slow store): not down, but
      // shoppers are answered without a catalogue until it ends.
      const seconds = Math.round((Date.now() - this.initialStartedAt) / 1000);
      const phase = this.warming
        ? `serving the catalogue of ${this.warming.version}, creating its model sessions`
        : 'reading the bundle, no catalogue yet';
      const without = this.answeredWithoutCatalogue;
      return {
        status: 'degraded',
        detail: (
          `first model load in progress for ${seconds} s (${phase})` +
          (without > 0
            ? `; ${without} request(s) answered without a catalogue after waiting ${this.catalogueWaitMs / 1000} s`
            : '')
        ).slice(0, 300),
      };
    }
    if (!current && this.awaitingPublish) {
      const { problem } = this.awaitingPublish;
      // Nothing to serve by configuration, like a cache that is not configured: the shop is unaffected
      // (slots keep its own markup). A setting that says neither true nor false is a mistake: down.
      return problem
        ? { status: 'down', detail: `no model bundle published, and ${problem}` }
        : {
            status: 'disabled',
            detail:
              'no model bundle published yet (npm run models:publish); the built-in demo bundle is off (DEMO_BUNDLE)',
          };
    }
    if (!current) {
      return {
        status: 'down',
        detail: `no model bundle loaded${this.lastFailure ? `: ${this.lastFailure}` : ''}`.slice(0, 300),
      };
    }
    if (this.standingInFor && current.origin === 'default') {
      const { version, reason } = this.standingInFor;
      return {
        status: 'degraded',
        detail: (
          `serving the built-in demo bundle ${current.version} (DEMO_BUNDLE=true) in place of the published ` +
          `${version}, which this worker refuses (publish one it accepts: npm run models:publish): ${reason}`
        ).slice(0, 300),
      };
    }
    // Only refusals since the served bundle was activated count: a later good publish clears the state.
    const refused = [...this.refused.entries()].filter(
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

  /**
   * `bundle()`, waiting for an isolate's first load at most `maxMs` (undefined past it, the load going
   * on): /healthz reports a load that takes longer as in progress instead of waiting for all of it.
   */
  private async bundleWithin(env: Env, ctx: Background | undefined, maxMs: number) {
    if (this.current) return this.bundle(env, ctx);
    this.sessionsWanted = true;
    const started = this.startInitial(env, ctx);
    if (started?.mine) await settlesWithin(started.load, maxMs);
    else if (started) await watchUntil(() => this.initial !== started.load, maxMs);
    return this.current;
  }

  /**
   * The first load, started once; undefined while a failed one waits out the poll interval. `mine`:
   * this call started it, so this request may await it (and `initialCatalogue`); another request's
   * load is watched instead (watchUntil).
   */
  private startInitial(env: Env, ctx?: Background): { load: Promise<void>; mine: boolean } | undefined {
    if (this.initial) return { load: this.initial, mine: false };
    // Nothing loadable: do not re-run a failing load (CPU-heavy) on every request.
    if (this.initialFailedAt !== undefined && Date.now() - this.initialFailedAt < pollIntervalMs(env))
      return undefined;
    // Made here and settled only by this load, so in the context of the request that started it.
    let catalogueShown = () => {};
    const initialCatalogue = new Promise<void>((resolve) => {
      catalogueShown = resolve;
    });
    const initial = this.loadInitial(env, catalogueShown).finally(() => {
      this.initial = undefined;
      this.initialCatalogue = undefined;
      this.warming = undefined;
      this.sessionsWanted = false;
      this.lastPollAt = Date.now();
      this.initialFailedAt = this.current ? undefined : Date.now();
      catalogueShown();
    });
    this.initial = initial;
    this.initialCatalogue = initialCatalogue;
    this.initialStartedAt = Date.now();
    this.answeredWithoutCatalogue = 0;
    // The request that started the load may be answered from the catalogue before the sessions exist;
    // waitUntil keeps the isolate working on them after that answer.
    ctx?.waitUntil(initial.catch(() => undefined));
    return { load: initial, mine: true };
  }

  /**
   * Resolves when the isolate is quiet (no request in progress, none started or ended for 50 ms), a
   * caller needs the models, or the deferral runs out. It looks on timers of its own (every
   * QUIET_POLL_MS at most) instead of being woken by the request that ends or wants the models: a
   * promise of this load settled from another request's context would have its continuation moved to
   * this load's request, and cancelled once that one is over (see the class comment).
   */
  private async sessionPhaseMayStart(): Promise<void> {
    const deadline = Date.now() + (this.deps.maxSessionDeferralMs ?? MAX_SESSION_DEFERRAL_MS);
    for (;;) {
      const now = Date.now();
      if (this.sessionsWanted || now >= deadline) return;
      const quietAt = this.lastRequestActivityAt + QUIET_BEFORE_SESSIONS_MS;
      if (this.inProgress === 0 && now >= quietAt) return;
      let next = Math.min(now + QUIET_POLL_MS, deadline);
      if (this.inProgress === 0) next = Math.min(next, quietAt);
      await sleep(next - now);
    }
  }

  private async loadInitial(env: Env, catalogueShown: () => void): Promise<void> {
    this.awaitingPublish = undefined;
    this.standingInFor = undefined;
    const showCatalogue = (verified: BundleCatalogue) => {
      this.warming = verified;
      catalogueShown();
    };
    if (env.MODEL_STORE) {
      // Once the shop has published its own bundle, the built-in one (trained on the demo catalogue:
      // other products, other URLs) does not stand in for it: if the published bundle or the store
      // cannot be read, nothing is served (slots keep the shop's own markup) and the first load is tried
      // again after the poll interval. Only where DEMO_BUNDLE=true (the local stack with its demo shop,
      // the tests), a published bundle this worker refuses (one from before a code update that no longer
      // accepts it) gives way to the built-in one, and /healthz says so (degraded).
      let pointer: Awaited<ReturnType<typeof readPointer>>;
      try {
        pointer = await readPointer(env.MODEL_STORE);
      } catch (error) {
        this.lastFailure = publicDetail(`model store unreadable: ${describe(error)}`);
        reportFailure('models', error);
        log('error', 'model_store_unreadable', { error, keeping: null });
        return;
      }
      if (pointer) {
        // Refused already (a stored version never changes): not downloaded and verified again each time
        // this first load is retried, holding shoppers' requests for it. Until a new publish, or until a
        // session refusal expires (stillRefused).
        const refusal = this.refused.get(pointer.version);
        if (refusal && this.stillRefused(pointer.version)) {
          this.lastFailure = refusal.reason;
          await this.standIn(env, { version: pointer.version, reason: refusal.reason }, showCatalogue);
          return;
        }
        const outcome = await this.tryActivate(
          storeBundleSource(env.MODEL_STORE, pointer.version),
          pointer.version,
          showCatalogue,
        );
        if ('failure' in outcome && outcome.refused) await this.standIn(env, outcome.refused, showCatalogue);
        return;
      }
    }
    // Nothing published: the built-in bundle only where the setting allows it (a deployed shop showing
    // the demo catalogue's products would be broken by us). Retried after the poll interval, so other
    // isolates pick up a first publish by themselves.
    const demoBundle = demoBundleSetting(env);
    if (!demoBundle.enabled) {
      this.awaitingPublish = demoBundle.problem ? { problem: demoBundle.problem } : {};
      log(demoBundle.problem ? 'error' : 'warn', 'model_bundle_unpublished', {
        hint: 'nothing published yet: npm run models:publish; the built-in demo bundle is off (DEMO_BUNDLE)',
        problem: demoBundle.problem ?? null,
      });
      return;
    }
    const builtIn = this.deps.builtIn();
    if (builtIn) await this.tryActivate(builtIn, 'default', showCatalogue);
    else log('warn', 'model_bundle_missing', { hint: 'no default bundle embedded and none published' });
  }

  /**
   * The built-in bundle in place of a published version this worker refused, where DEMO_BUNDLE=true
   * only: never on a deployed shop (wrangler.toml ships false), where it would show the demo catalogue's
   * products. Not for a store that could not be read: that is tried again, and may well recover.
   */
  private async standIn(
    env: Env,
    refused: { version: string; reason: string },
    showCatalogue: (verified: BundleCatalogue) => void,
  ): Promise<void> {
    if (!demoBundleSetting(env).enabled) return;
    const builtIn = this.deps.builtIn();
    if (!builtIn) return;
    log('warn', 'model_bundle_demo_stands_in', {
      refused: refused.version,
      reason: refused.reason,
      hint: 'DEMO_BUNDLE=true: serving the built-in demo bundle; publish a bundle this worker accepts (npm run models:publish)',
    });
    const outcome = await this.tryActivate(builtIn, 'default', showCatalogue);
    if ('bundle' in outcome && this.current === outcome.bundle) this.standingInFor = refused;
  }

  /**
   * Loads a source and makes it current; on failure keeps what is served and reports why.
   * `showCatalogue` (first load only) gets the verified catalogue before the sessions are created.
   */
  private async tryActivate(
    source: BundleSource,
    label: string,
    showCatalogue?: (verified: BundleCatalogue) => void,
    publish?: PublishActivation,
  ): Promise<ActivationResult> {
    const activation = ++this.activationsRequested;
    // Overtaken by a later activation that got as far as loading: one refused at verification (a
    // version that does not exist, say) overtakes nothing. A cold isolate's first load of the published
    // bundle (`showCatalogue`) is overtaken only once another activation has put a bundle in service:
    // dropped while the later one was still loading, it left nothing to serve when that one was then refused.
    const overtaken = () =>
      this.latestLoading > activation && (showCatalogue === undefined || this.current !== undefined);
    const superseded = () => {
      log('info', 'model_bundle_superseded', { version: label, serving: this.current?.version ?? null });
      return { superseded: `activation of ${label} was overtaken by a later activation` };
    };
    let sessionPhase = false;
    this.verifying.add(activation);
    try {
      let verified: VerifiedBundle;
      try {
        verified = await verifyBundle(source);
        if (source.origin === 'store' && verified.version !== label) {
          // A published folder must hold the version it is published as, or cache keys would lie.
          throw new BundleError(label, [
            `manifest.json says version ${verified.version}, it was published as ${label}`,
          ]);
        }
      } catch (error) {
        // A manifest that could not be read names no version ("?"): the one it was loaded as does, for
        // /healthz, the logs and the admin caller.
        if (error instanceof BundleError && error.version === '?')
          throw new BundleError(label, error.problems);
        throw error;
      } finally {
        this.verifying.delete(activation);
      }
      this.latestLoading = Math.max(this.latestLoading, activation);
      if (showCatalogue) {
        showCatalogue(verified);
        await this.sessionPhaseMayStart();
      }
      if (overtaken()) return superseded();
      sessionPhase = true;
      const bundle = await this.deps.createSessions(verified);
      // A later activation still verifying may go on to load (and overtake this one) or be refused
      // (and not): known soon, so the last one asked for still wins. Watched, not awaited (watchUntil);
      // one that never ends (its request cancelled) is not waited for past the bound.
      if (!showCatalogue)
        await watchUntil(() => !this.verifyingAfter(activation), SHARED_ACTIVATION_WATCH_MAX_MS);
      if (overtaken()) {
        // Never served: its sessions can go at once.
        void releaseModels(bundle.models);
        return superseded();
      }
      // Published once the pointer moved, and only then swapped in: no await between the two. Not
      // checked for being superseded again afterwards: the pointer names this version now, and a later
      // activation moves it (and swaps) only if its own compare-and-swap succeeds after this one.
      const step = publish ? await this.publishOrRelease(publish, bundle, label) : undefined;
      if (step && 'moved' in step) return { pointerMoved: step.moved };
      const previous = this.current;
      this.current = bundle;
      if (bundle.origin !== 'default') this.standingInFor = undefined;
      if (previous && previous !== bundle) this.retired.push({ bundle: previous, at: Date.now() });
      reportRecovery('models');
      log('info', 'model_bundle_loaded', {
        version: bundle.version,
        origin: bundle.origin,
        models: Object.keys(bundle.models),
      });
      return step ? { bundle, published: step.published } : { bundle };
    } catch (error) {
      // A catalogue shown for a bundle whose sessions failed is not served any longer.
      if (showCatalogue) this.warming = undefined;
      // The admin caller gets every reason; /healthz (public) what publicDetail lets through.
      const failure = describe(error);
      this.lastFailure = publicDetail(failure);
      const refusal = error instanceof BundleError;
      if (refusal) {
        const at = Date.now();
        this.refused.set(label, {
          reason: publicDetail(failure),
          at,
          ...(sessionPhase ? { retryAt: at + SESSION_REFUSAL_RETRY_MS } : {}),
        });
      }
      reportFailure('models', error);
      log('error', refusal ? 'model_bundle_refused' : 'model_bundle_unreadable', {
        version: refusal ? error.version : label,
        source: label,
        error,
        keeping: this.current?.version ?? null,
      });
      if (refusal) return { failure, refused: { version: label, reason: publicDetail(failure) } };
      return error instanceof ModelStoreError ? { failure, storeFailed: true } : { failure };
    }
  }

  /** Runs `publish` for a loaded bundle; one that is not published (or could not be) is never served: its sessions go. */
  private async publishOrRelease(
    publish: PublishActivation,
    bundle: LoadedBundle,
    label: string,
  ): Promise<Awaited<ReturnType<PublishActivation>>> {
    let step: Awaited<ReturnType<PublishActivation>>;
    try {
      step = await publish();
    } catch (error) {
      void releaseModels(bundle.models);
      const message = `${label} loaded, but the pointer could not be moved to it: ${describe(error)}`;
      // The store's failure stays one: the bundle is not at fault, and the same activation may succeed.
      throw error instanceof ModelStoreError
        ? new ModelStoreError(message, { cause: error })
        : new Error(message);
    }
    if ('moved' in step) {
      void releaseModels(bundle.models);
      log('info', 'model_bundle_pointer_moved', { version: label, serving: this.current?.version ?? null });
    }
    return step;
  }

  /** Checks the store's pointer and activates a newer, not yet refused version. */
  private async refresh(env: Env): Promise<void> {
    const bucket = env.MODEL_STORE;
    if (!bucket) return;
    try {
      const pointer = await readPointer(bucket);
      if (!pointer || pointer.version === this.current?.version || this.stillRefused(pointer.version)) return;
      await this.tryActivate(storeBundleSource(bucket, pointer.version), pointer.version);
    } catch (error) {
      reportFailure('models', error);
      log('error', 'model_store_unreadable', { error });
    }
  }

  /** Whether a version is refused and not yet due to be tried again (see SESSION_REFUSAL_RETRY_MS). */
  private stillRefused(version: string): boolean {
    const refusal = this.refused.get(version);
    return refusal !== undefined && (refusal.retryAt === undefined || Date.now() < refusal.retryAt);
  }

  private pollInBackground(env: Env, ctx?: Background): void {
    const now = Date.now();
    // Only callers that can keep the isolate working after their response (ctx) start a refresh:
    // a detached promise may be cancelled with its request and would leave `refreshing` stuck.
    if (!ctx || !env.MODEL_STORE || this.refreshing || now - this.lastPollAt < pollIntervalMs(env)) return;
    this.lastPollAt = now;
    this.refreshing = this.refresh(env).finally(() => {
      this.refreshing = undefined;
    });
    ctx.waitUntil(this.refreshing);
  }

  private releaseRetired(): void {
    const now = Date.now();
    const due = this.retired.filter((entry) => now - entry.at > RETIRE_GRACE_MS);
    if (due.length === 0) return;
    this.retired = this.retired.filter((entry) => !due.includes(entry));
    for (const { bundle } of due) void releaseModels(bundle.models);
  }
}

/** The isolate's registry: module state lives as long as the isolate. */
const registry = new BundleRegistry();

/** The bundle to serve, sessions and all (see BundleRegistry.bundle). */
export function getBundle(env: Env, ctx?: Background): Promise<LoadedBundle | undefined> {
  return registry.bundle(env, ctx);
}

/** The catalogue to serve without a model, early during a cold isolate's first load (see BundleRegistry.catalogue). */
export function getCatalogue(env: Env, ctx: Background): Promise<BundleCatalogue | undefined> {
  return registry.catalogue(env, ctx);
}

/** Marks a shopper's request in progress until the returned function is called (see BundleRegistry.busy). */
export function requestInProgress(): () => void {
  return registry.busy();
}

export function activateStoredBundle(
  bucket: R2Bucket,
  version: string,
  publish: PublishActivation,
  ctx: Background,
): ReturnType<BundleRegistry['activateStored']> {
  return registry.activateStored(bucket, version, publish, ctx);
}

// Active: on a cold isolate the report loads the bundle (see BundleRegistry.health).
registerHealthProbe('models', (env, ctx) => registry.health(env, ctx), { active: true });
