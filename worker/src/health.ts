import type { Env } from './env';

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
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  failures.set(component, { at: Date.now(), detail: publicDetail(detail) });
}

/**
 * What of an error `/healthz` (a public path) may show: the kind of failure, not the request that
 * failed. Upstash's client appends the whole command (`…, command was: ["get","rx:v1:<site>:…"]`),
 * keys and values included, and a connection error may carry credentials in a URL.
 */
export function publicDetail(detail: string): string {
  return detail
    .replace(/,?\s*command was:[\s\S]*$/i, '')
    .replace(/(\w+:\/\/)[^/@\s]*@/g, '$1…@')
    .slice(0, 200);
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

/** Extra components (models, ...) register a probe so health stays one place. */
type Probe = (env: Env) => Promise<ComponentHealth> | ComponentHealth;
const probes = new Map<string, Probe>();
export function registerHealthProbe(component: string, probe: Probe): void {
  probes.set(component, probe);
}

export async function healthReport(env: Env) {
  const components: Record<string, ComponentHealth> = {
    cache: componentHealth('cache', Boolean(env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN)),
    queue: componentHealth('queue', Boolean(env.EVENTS)),
    origin: componentHealth('origin', Boolean(env.ORIGIN_URL)),
    // Degraded for a minute after the binding failed: requests then went through unlimited.
    rate_limiter: componentHealth('rate_limiter', Boolean(env.RATE_LIMITER)),
  };
  for (const [name, probe] of probes) {
    try {
      components[name] = await probe(env);
    } catch (error) {
      components[name] = { status: 'down', detail: error instanceof Error ? error.message : String(error) };
    }
  }
  const statuses = Object.values(components).map((c) => c.status);
  const status = statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, site: env.SITE_ID, components } as const;
}
