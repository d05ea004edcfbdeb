import { Redis } from '@upstash/redis/cloudflare';
import { setting } from '../config';
import type { Env } from '../env';
import { logRepeating } from '../log-repeating';
import { SETTINGS } from '../settings';

/** Default time budget of one cache round trip, in ms (`CACHE_BUDGET_MS`). */
export const DEFAULT_CACHE_BUDGET_MS = SETTINGS.CACHE_BUDGET_MS.fallback;

/** The cache budget from the environment: a positive number of ms, else the default (settings.ts). */
export function cacheBudgetMs(env: Pick<Env, 'CACHE_BUDGET_MS'>): number {
  return setting(env, 'CACHE_BUDGET_MS');
}

const clients = new Map<string, Redis>();

type UpstashEnv = Pick<Env, 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN'>;

/**
 * The Upstash credentials, trimmed (a secret saved with its line break, `echo … | wrangler secret put`,
 * still works); undefined when either is not set.
 */
function credentials(env: UpstashEnv): { url: string; token: string } | undefined {
  const url = env.UPSTASH_REDIS_REST_URL?.trim();
  const token = env.UPSTASH_REDIS_REST_TOKEN?.trim();
  return url && token ? { url, token } : undefined;
}

/** Whether Upstash is configured: both settings set, once trimmed (what the clients below use). */
export function upstashConfigured(env: UpstashEnv): boolean {
  return credentials(env) !== undefined;
}

/**
 * Why the Upstash client refuses the configured URL, or undefined. The client checks its URL when it
 * is made and throws there, outside every caller's fallback: `redisFromEnv` and `offRequestRedis`
 * answer undefined instead (no cache, as when none is configured), and `/healthz` shows this as
 * `down` for `cache`, `activity` and `live_counters`.
 */
export function upstashUrlProblem(env: UpstashEnv): string | undefined {
  const configured = credentials(env);
  if (!configured) return undefined;
  // Once per URL: `/healthz` asks for four components, each time.
  let refused = refusedUrls.get(configured.url);
  if (refused === undefined) {
    refused = makeClient(configured.url, configured.token, {}) === undefined;
    if (refusedUrls.size > 8) refusedUrls.clear();
    refusedUrls.set(configured.url, refused);
  }
  return refused ? UPSTASH_URL_PROBLEM : undefined;
}

/** Whether the client refused each URL tried (settings change only with a deploy). */
const refusedUrls = new Map<string, boolean>();

const UPSTASH_URL_PROBLEM =
  'UPSTASH_REDIS_REST_URL is not a URL the Upstash client accepts (https://<name>.upstash.io, as the console gives it)';

/** A client, or undefined when `@upstash/redis` refuses the URL (see upstashUrlProblem). */
function makeClient(
  url: string,
  token: string,
  options: Omit<ConstructorParameters<typeof Redis>[0], 'url' | 'token'>,
): Redis | undefined {
  try {
    return new Redis({ url, token, enableTelemetry: false, ...options });
  } catch (error) {
    // The SDK's message quotes the URL: only its kind is logged.
    logRepeating('error', 'cache_url_refused', { error: UPSTASH_URL_PROBLEM, kind: (error as Error)?.name });
    return undefined;
  }
}

/**
 * The isolate's Upstash client for these credentials, or undefined when the cache is not configured.
 * Tuned for a cache on the hot path: no retries (a retry would blow the budget; the caller falls back),
 * every request aborted when the budget runs out, raw strings back (values are parsed and validated by
 * the caller, not trusted), no telemetry headers.
 */
export function redisFromEnv(
  env: Pick<Env, 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN' | 'CACHE_BUDGET_MS'>,
): Redis | undefined {
  const configured = credentials(env);
  if (!configured) return undefined;
  const { url, token } = configured;
  const budget = cacheBudgetMs(env);
  const id = `${url}\n${token}\n${budget}`;
  let client = clients.get(id);
  if (!client) {
    client = makeClient(url, token, {
      retry: { retries: 0 },
      signal: () => AbortSignal.timeout(budget),
      automaticDeserialization: false,
      responseEncoding: false,
    });
    if (client) clients.set(id, client);
  }
  return client;
}

/**
 * A client for Redis work off a shopper's request: the consumer's writes (recent activity, live
 * counters) and an operator's reads (`/admin/live`). They can wait longer than a page's cache budget
 * (`timeoutMs` per request) and may retry once (`retries`, 200 ms apart). Raw strings back, no
 * telemetry headers; undefined when the cache is not configured.
 */
export function offRequestRedis(
  env: Pick<Env, 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN'>,
  options: { timeoutMs: number; retries: 0 | 1 },
): Redis | undefined {
  const configured = credentials(env);
  if (!configured) return undefined;
  return makeClient(configured.url, configured.token, {
    retry: { retries: options.retries, backoff: () => 200 },
    signal: () => AbortSignal.timeout(options.timeoutMs),
    automaticDeserialization: false,
  });
}

/** Thrown when a cache round trip exceeds its budget. */
export class CacheTimeoutError extends Error {
  override readonly name = 'CacheTimeoutError';
  constructor(readonly budgetMs: number) {
    super(`cache did not answer within ${budgetMs} ms`);
  }
}

/**
 * Races a cache operation against the budget. The client's own abort signal covers the fetch; this
 * also covers whatever the client does around it, so the caller's wait is bounded either way.
 */
export async function withinBudget<T>(operation: Promise<T>, budgetMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CacheTimeoutError(budgetMs)), budgetMs);
  });
  try {
    return await Promise.race([operation, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    // A late rejection of the losing operation must not become an unhandled rejection.
    operation.catch(() => undefined);
  }
}

/**
 * What is left of one cache budget begun at `started` (epoch ms), for the next round trip of the same
 * operation; `CacheTimeoutError` when nothing is. A fallback after a refused script gets the rest of
 * the budget, never a second one.
 */
export function budgetLeft(budgetMs: number, started: number): number {
  const left = budgetMs - (Date.now() - started);
  if (left <= 0) throw new CacheTimeoutError(budgetMs);
  return left;
}
