import { upstashConfigured, upstashUrlProblem } from './cache/redis-client';
import { configBroken, configProblems, setting } from './config';
import { describeError } from './describe-error';
import type { Env } from './env';
import { redactAddresses, redactSecrets } from './redact';

export type ComponentStatus = 'ok' | 'degraded' | 'down' | 'disabled';

export interface ComponentHealth {
  status: ComponentStatus;
  detail?: string;
  /** ISO time of the last failure this isolate saw, if any. */
  lastFailureAt?: string;
}

/**
 * Failures seen by this isolate, per component. Parts of the worker report here
 * (`reportFailure('cache', err)`) instead of throwing into a shopper's request,
 * so `/healthz` shows what is degraded.
 */
const failures = new Map<string, { at: number; detail: string; inARow: number }>();
const FAILURE_WINDOW_MS = 60_000;

export function reportFailure(component: string, error: unknown): void {
  const now = Date.now();
  const previous = failures.get(component);
  // Failures with no recovery between them, each within a minute of the one before (originHealth).
  const inARow = previous && now - previous.at < FAILURE_WINDOW_MS ? previous.inARow + 1 : 1;
  failures.set(component, { at: now, detail: publicDetail(describeError(error)), inARow });
  // Real traffic saw it fail: the next report probes again instead of showing an older answer.
  probeResults.delete(component);
}

/** This isolate's last failure of `component` until it recovers (whatever its age), for relaying. */
export function lastFailure(component: string): { at: number; detail: string } | undefined {
  const failure = failures.get(component);
  return failure && { at: failure.at, detail: failure.detail };
}

/**
 * What of an error `/healthz` (a public path) may show: the kind of failure, not the request that
 * failed (see redactSecrets), and not more than 200 characters of it. Everything that reaches
 * `/healthz` from an error goes through here: reportFailure's failures, the probes' own details
 * (the models' refusals, the outbox's last error) and a probe that threw. `maxLength` is longer only
 * for a detail that is a list of public settings' problems (`config`), not an error's text.
 */
export function publicDetail(detail: string, maxLength = 200): string {
  return redactAddresses(redactSecrets(detail)).slice(0, maxLength);
}

/**
 * Components judged by the share of their answers that went wrong, not by the last one: the cache's
 * lookups (`cache`) and background writes (`cache_writes`), which report every answer (reportOutcome).
 * Over the last OUTCOME_WINDOW_MS, such a component is `degraded` once at least DEGRADED_SHARE of its
 * answers failed or came late (past their time budget), with the counts in the detail. Before, one
 * answer on time cleared any failure and a late answer counted only after three in a row, so a cache
 * answering late, late, on time, over and over (two lookups in three falling back) read `ok`.
 *
 * A late answer is not an outage by itself: a fresh isolate's first concurrent requests share one
 * thread with its first model runs, and a lookup can miss its 50 ms there with the cache perfectly
 * healthy. So late answers alone degrade only from LATE_BEFORE_DEGRADED of them in the window; a failure
 * (an error, not a timeout) counts at once. Per isolate, in OUTCOME_BUCKETS buckets: O(1) memory.
 */
export const OUTCOME_WINDOW_MS = 60_000;
export const DEGRADED_SHARE = 0.2;
export const LATE_BEFORE_DEGRADED = 3;
const OUTCOME_BUCKETS = 6;
const OUTCOME_BUCKET_MS = OUTCOME_WINDOW_MS / OUTCOME_BUCKETS;

export type Outcome = 'ok' | 'late' | 'failed';

interface OutcomeBucket {
  /** Which bucket of time (Math.floor(at / OUTCOME_BUCKET_MS)) the counts are of. */
  slot: number;
  ok: number;
  late: number;
  failed: number;
}

interface OutcomeWindow {
  buckets: OutcomeBucket[];
  /** The last answer that went wrong: what /healthz names. */
  lastProblem?: { at: number; detail: string };
}

const outcomeWindows = new Map<string, OutcomeWindow>();

/** Records one answer of a component judged by its share of problems (see OUTCOME_WINDOW_MS). */
export function reportOutcome(component: string, outcome: Outcome, error?: unknown, now = Date.now()): void {
  let window = outcomeWindows.get(component);
  if (!window) {
    window = {
      buckets: Array.from({ length: OUTCOME_BUCKETS }, () => ({ slot: -1, ok: 0, late: 0, failed: 0 })),
    };
    outcomeWindows.set(component, window);
  }
  const slot = Math.floor(now / OUTCOME_BUCKET_MS);
  const bucket = window.buckets[slot % OUTCOME_BUCKETS];
  if (!bucket) return;
  if (bucket.slot !== slot) Object.assign(bucket, { slot, ok: 0, late: 0, failed: 0 });
  bucket[outcome] += 1;
  if (outcome !== 'ok') {
    window.lastProblem = { at: now, detail: publicDetail(describeError(error ?? outcome)) };
  }
}

/** A component's answers of the last OUTCOME_WINDOW_MS; undefined if it reports none (reportOutcome). */
function outcomesOf(component: string, now: number) {
  const window = outcomeWindows.get(component);
  if (!window) return undefined;
  const oldest = Math.floor((now - OUTCOME_WINDOW_MS) / OUTCOME_BUCKET_MS) + 1;
  const counts = { ok: 0, late: 0, failed: 0 };
  for (const bucket of window.buckets) {
    if (bucket.slot < oldest || bucket.slot * OUTCOME_BUCKET_MS > now) continue;
    counts.ok += bucket.ok;
    counts.late += bucket.late;
    counts.failed += bucket.failed;
  }
  return { ...counts, lastProblem: window.lastProblem };
}

function outcomeHealth(outcomes: NonNullable<ReturnType<typeof outcomesOf>>): ComponentHealth {
  const { ok, late, failed, lastProblem } = outcomes;
  const total = ok + late + failed;
  const problems = late + failed;
  if (problems === 0) return { status: 'ok' };
  const counts = `${failed} failed and ${late} late of ${total} in the last minute`;
  const degraded = problems / total >= DEGRADED_SHARE && (failed > 0 || late >= LATE_BEFORE_DEGRADED);
  if (!degraded) {
    // Visible, but not an outage (see OUTCOME_WINDOW_MS).
    return {
      status: 'ok',
      detail: `${counts}; degraded from ${DEGRADED_SHARE * 100}% (with a failure, or ${LATE_BEFORE_DEGRADED} late)`,
    };
  }
  return {
    status: 'degraded',
    detail: `${counts}; last: ${lastProblem?.detail ?? '?'}`.slice(0, 300),
    ...(lastProblem ? { lastFailureAt: new Date(lastProblem.at).toISOString() } : {}),
  };
}

export function reportRecovery(component: string): void {
  failures.delete(component);
  probeResults.delete(component);
}

export function componentHealth(component: string, configured: boolean, now = Date.now()): ComponentHealth {
  if (!configured) return { status: 'disabled', detail: 'not configured' };
  const outcomes = outcomesOf(component, now);
  if (outcomes) return outcomeHealth(outcomes);
  const failure = failures.get(component);
  if (failure && now - failure.at < FAILURE_WINDOW_MS) {
    return { status: 'degraded', detail: failure.detail, lastFailureAt: new Date(failure.at).toISOString() };
  }
  return { status: 'ok' };
}

/**
 * Origin answers that failed in a row (unreachable, Cloudflare's 520-530, the origin's own 502-504),
 * with no answer below 500 between them, after which `origin` is `down` and `/healthz` 503.
 */
export const ORIGIN_DOWN_AFTER = 5;

/**
 * `origin` (proxy mode): `degraded` for a minute after a failed answer (componentHealth), `down` once
 * ORIGIN_DOWN_AFTER answers in a row failed and none has succeeded since. Every proxied page is then a
 * 502 or the origin's own error page: the shop is down for shoppers, and a monitor that checks the
 * status code must see that (it saw `degraded` and 200 for as long as the origin was gone). One failure
 * alone is not: a blip, or one page behind a failing gateway while the others are served.
 */
export function originHealth(env: Pick<Env, 'ORIGIN_URL'>): ComponentHealth {
  const health = componentHealth('origin', Boolean(env.ORIGIN_URL));
  const failure = failures.get('origin');
  if (health.status !== 'degraded' || !failure || failure.inARow < ORIGIN_DOWN_AFTER) return health;
  return {
    ...health,
    status: 'down',
    detail: `the last ${failure.inARow} origin answers failed, none succeeded since: ${failure.detail}`.slice(
      0,
      300,
    ),
  };
}

/**
 * A component served by Upstash (the page cache, the consumer's activity and live counter writes):
 * `down` while the configured URL is one the client refuses (nothing reaches Redis then), else as
 * `componentHealth` says.
 */
export function upstashHealth(component: string, env: Env): ComponentHealth {
  const problem = upstashUrlProblem(env);
  if (problem !== undefined) return { status: 'down', detail: problem };
  return componentHealth(component, upstashConfigured(env));
}

/** Extra components (models, ...) register a probe so health stays one place. */
/**
 * `ctx`: the `/healthz` request's, so work a probe starts for the whole isolate (the first model load,
 * which later requests wait on) runs under its `waitUntil` and is not cancelled with a client that goes away.
 */
type Probe = (env: Env, ctx?: Background) => Promise<ComponentHealth> | ComponentHealth;
type Background = Pick<ExecutionContext, 'waitUntil'>;
const probes = new Map<string, { probe: Probe; active: boolean }>();

/**
 * `active`: the probe does work beyond reading this isolate's memory (a Durable Object RPC, a model
 * load on a cold isolate). `/healthz` is public and unlimited, so an active probe's answer is reused
 * for HEALTH_PROBE_CACHE_SECONDS (default 5) per isolate, and concurrent reports share one probe (its
 * answer: see probeOnce): a flood costs one probe per period per isolate. What real traffic reports
 * (reportFailure, reportRecovery) drops the component's cached answer, so a failure shows at the next
 * report.
 */
export function registerHealthProbe(
  component: string,
  probe: Probe,
  options: { active?: boolean } = {},
): void {
  probes.set(component, { probe, active: options.active ?? false });
  probeResults.delete(component);
}

/**
 * Each active probe's latest run: when it started and, once it has, its answer. Other requests share
 * the answer, a plain value, never the run's promise (see probeOnce).
 */
const probeResults = new Map<string, { at: number; answer?: ComponentHealth }>();

/** How often a report waiting for a probe that another request runs looks for its answer. */
const SHARED_PROBE_POLL_MS = 5;

export function probeCacheMs(env: Pick<Env, 'HEALTH_PROBE_CACHE_SECONDS'>): number {
  return setting(env, 'HEALTH_PROBE_CACHE_SECONDS') * 1000;
}

async function runProbe(probe: Probe, env: Env, ctx?: Background): Promise<ComponentHealth> {
  try {
    return await probe(env, ctx);
  } catch (error) {
    return { status: 'down', detail: publicDetail(describeError(error)) };
  }
}

/**
 * An active probe's answer, probed at most once per HEALTH_PROBE_CACHE_SECONDS per isolate. A report
 * that finds the probe running in another request waits for its answer by looking every few ms, on a
 * timer of its own, never by awaiting that request's promise. A report that awaited it had nothing
 * pending of its own: under load workerd cancelled it as hung (the runtime's own 500, no log line of
 * ours), and once the probe answered, its continuation ran outside its request (docs/benchmarks.md).
 * A run still unanswered after the period (its request was cancelled, say) is given up: the next
 * report probes again.
 */
async function probeOnce(name: string, probe: Probe, env: Env, ctx?: Background): Promise<ComponentHealth> {
  const maxAge = probeCacheMs(env);
  if (maxAge <= 0) return runProbe(probe, env, ctx);
  for (;;) {
    const latest = probeResults.get(name);
    if (!latest || Date.now() - latest.at >= maxAge) break;
    if (latest.answer) return latest.answer;
    await new Promise((resolve) => setTimeout(resolve, SHARED_PROBE_POLL_MS));
  }
  const run: { at: number; answer?: ComponentHealth } = { at: Date.now() };
  probeResults.set(name, run);
  run.answer = await runProbe(probe, env, ctx);
  return run.answer;
}

const MAX_CONFIG_DETAIL = 1_000;

/**
 * `config`: `degraded` while a public setting (`[vars]`) has an entry its rule does not accept (the
 * worker then uses the default; settings.ts), listing each problem by the setting's name and what it
 * accepts; `ok` otherwise. `down` when ORIGIN_URL is set but not an http(s) URL: no proxied page can
 * be served then, which is an outage, not a typo the default covers. Reads memory only (config.ts
 * checks once per distinct settings).
 */
export function configHealth(env: Env): ComponentHealth {
  const problems = configProblems(env);
  if (problems.length === 0) return { status: 'ok' };
  const listed = problems.join('; ');
  return {
    status: configBroken(env) ? 'down' : 'degraded',
    // Several typos at once fit (each is also in the log); the count shows when the list is cut.
    detail: publicDetail(
      problems.length === 1 ? listed : `${problems.length} problems: ${listed}`,
      MAX_CONFIG_DETAIL,
    ),
  };
}

export async function healthReport(env: Env, ctx?: Background) {
  const components: Record<string, ComponentHealth> = {
    cache: upstashHealth('cache', env),
    // The cache's background writes (a miss's entry, a refresh), apart from its lookups.
    cache_writes: upstashHealth('cache_writes', env),
    queue: componentHealth('queue', Boolean(env.EVENTS)),
    origin: originHealth(env),
    // Degraded for a minute after the binding failed: requests then went through unlimited.
    rate_limiter: componentHealth('rate_limiter', Boolean(env.RATE_LIMITER)),
  };
  // Together, not one after the other: each probe is bounded (a status RPC's 2 s, the models' first-load
  // wait of 3 s), so the report takes as long as the slowest one. One after the other, a Durable Object
  // outage cost the outbox's, then the writer's deadline, and the writer was asked again by each of
  // mongodb, activity and live_counters once the previous ask was over a second old (6 s for it alone).
  const answers = await Promise.all(
    [...probes].map(async ([name, { probe, active }]) => {
      const answer = await (active ? probeOnce(name, probe, env, ctx) : runProbe(probe, env, ctx));
      return [name, answer] as const;
    }),
  );
  // A copy: a cached answer is shared by the reports of the next seconds.
  for (const [name, answer] of answers) components[name] = { ...answer };
  for (const component of Object.values(components)) {
    // Whatever a probe composed from an error, it leaves no command or credential on a public path.
    if (component.detail !== undefined) component.detail = redactAddresses(redactSecrets(component.detail));
  }
  const statuses = Object.values(components).map((c) => c.status);
  const status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, site: env.SITE_ID, components } as const;
}

registerHealthProbe('config', configHealth);
