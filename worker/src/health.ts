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
const failures = new Map<string, { at: number; detail: string }>();
const FAILURE_WINDOW_MS = 60_000;

export function reportFailure(component: string, error: unknown): void {
  failures.set(component, { at: Date.now(), detail: publicDetail(describeError(error)) });
  // Real traffic saw it fail: the next report probes again instead of showing an older answer.
  probeResults.delete(component);
}

/** This isolate's last failure of `component` until it recovers (whatever its age), for relaying. */
export function lastFailure(component: string): { at: number; detail: string } | undefined {
  return failures.get(component);
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
 * Answers past their time budget in a row, per component. One late answer is not an outage: a fresh
 * isolate's first concurrent requests share one thread with its first model runs, and a lookup can
 * miss its 50 ms there with the cache perfectly healthy. The shopper already got the fallback in
 * time; `/healthz` says degraded once SLOW_IN_A_ROW answers in a row were late (a slow or
 * overloaded cache), and errors count at once.
 */
const slowInARow = new Map<string, number>();
export const SLOW_IN_A_ROW = 3;

export function reportSlow(component: string, error: unknown): void {
  const count = (slowInARow.get(component) ?? 0) + 1;
  slowInARow.set(component, count);
  if (count >= SLOW_IN_A_ROW) reportFailure(component, error);
}

export function reportRecovery(component: string): void {
  failures.delete(component);
  slowInARow.delete(component);
  probeResults.delete(component);
}

export function componentHealth(component: string, configured: boolean): ComponentHealth {
  if (!configured) return { status: 'disabled', detail: 'not configured' };
  const failure = failures.get(component);
  if (failure && Date.now() - failure.at < FAILURE_WINDOW_MS) {
    return { status: 'degraded', detail: failure.detail, lastFailureAt: new Date(failure.at).toISOString() };
  }
  const slow = slowInARow.get(component) ?? 0;
  if (slow > 0) {
    // Visible, but not yet an outage (see reportSlow).
    return { status: 'ok', detail: `${slow} late answer(s) in a row; degraded at ${SLOW_IN_A_ROW}` };
  }
  return { status: 'ok' };
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
    origin: componentHealth('origin', Boolean(env.ORIGIN_URL)),
    // Degraded for a minute after the binding failed: requests then went through unlimited.
    rate_limiter: componentHealth('rate_limiter', Boolean(env.RATE_LIMITER)),
  };
  for (const [name, { probe, active }] of probes) {
    // A copy: a cached answer is shared by the reports of the next seconds.
    components[name] = { ...(await (active ? probeOnce(name, probe, env, ctx) : runProbe(probe, env, ctx))) };
  }
  for (const component of Object.values(components)) {
    // Whatever a probe composed from an error, it leaves no command or credential on a public path.
    if (component.detail !== undefined) component.detail = redactAddresses(redactSecrets(component.detail));
  }
  const statuses = Object.values(components).map((c) => c.status);
  const status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, site: env.SITE_ID, components } as const;
}

registerHealthProbe('config', configHealth);
