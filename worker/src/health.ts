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
  failures.set(component, { at: Date.now(), detail: detail.slice(0, 200) });
}

export function reportRecovery(component: string): void {
  failures.delete(component);
}

export function componentHealth(component: string, configured: boolean): ComponentHealth {
  if (!configured) return { status: 'disabled', detail: 'not configured' };
  const failure = failures.get(component);
  if (failure && Date.now() - failure.at < FAILURE_WINDOW_MS) {
    return { status: 'degraded', detail: failure.detail, lastFailureAt: new Date(failure.at).toISOString() };
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
