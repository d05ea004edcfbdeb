/**
 * A typed wrapper around autocannon (which ships no types): one HTTP load run against one URL,
 * returning the figures benchmarks report.
 */
import { createRequire } from 'node:module';
import { assertMissShare, MAX_MISS_SHARE_SATURATED, type PageCheck } from './page-check';

export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
  /** Headers made anew for each request (e.g. a different shopper's cookie), over `headers`. */
  perRequestHeaders?: () => Record<string, string>;
  /** Checks each response's body; those it returns false for are counted in `mismatches`. */
  verifyBody?: (body: string) => boolean;
}

export interface LoadResult {
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  requests: number;
  non2xx: number;
  /** Answers by HTTP status (`{"200": 15943, "503": 5}`), so a non-2xx count says what it was. */
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Responses `verifyBody` returned false for (0 without it). */
  mismatches: number;
  bytesPerSecond: number;
}

interface RawHistogram {
  average: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  total: number;
}

interface RawResult {
  requests: RawHistogram;
  latency: RawHistogram;
  throughput: RawHistogram;
  non2xx: number;
  statusCodeStats?: Record<string, { count: number }>;
  errors: number;
  timeouts: number;
  mismatches: number;
}

type Autocannon = (options: Record<string, unknown>) => Promise<RawResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Runs one load test; rejects only if autocannon cannot run at all (failed requests are counted). */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const raw = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.duration,
    headers: options.headers,
    method: options.method ?? 'GET',
    body: options.body,
    ...(options.verifyBody ? { verifyBody: options.verifyBody } : {}),
    ...(options.perRequestHeaders
      ? { requests: [{ setupRequest: withHeaders(options.perRequestHeaders) }] }
      : {}),
  });
  return {
    requestsPerSecond: raw.requests.average,
    latencyMs: {
      p50: raw.latency.p50,
      p90: raw.latency.p90,
      p99: raw.latency.p99,
      max: raw.latency.max,
      mean: raw.latency.mean,
    },
    requests: raw.requests.total,
    non2xx: raw.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(raw.statusCodeStats ?? {}).map(([status, { count }]) => [status, count]),
    ),
    errors: raw.errors,
    timeouts: raw.timeouts,
    mismatches: raw.mismatches,
    bytesPerSecond: raw.throughput.average,
  };
}

/**
 * Fails a measured run that had any non-2xx answer, error or timeout: autocannon times those too, so
 * fast failures would read as throughput. (Latency percentiles are of 2xx answers only.)
 */
export function assertAllSucceeded(name: string, result: LoadResult): void {
  if (result.non2xx === 0 && result.errors === 0 && result.timeouts === 0) return;
  throw new Error(
    `${name}: ${result.non2xx} non-2xx answer(s) ${nonSuccessStatuses(result)}, ${result.errors} error(s), ` +
      `${result.timeouts} timeout(s) in ${result.requests} requests under load: the figures would include failures`,
  );
}

/** The non-2xx answers by status, e.g. `(503: 5)`; empty when there were none. */
export function nonSuccessStatuses(result: Pick<LoadResult, 'statusCodes'>): string {
  const failed = Object.entries(result.statusCodes).filter(([status]) => !status.startsWith('2'));
  return failed.length === 0 ? '' : `(${failed.map(([status, count]) => `${status}: ${count}`).join(', ')})`;
}

/**
 * As assertAllSucceeded, and fails on any body that failed a check that is not counted (see PageCheck),
 * and on more than MAX_MISS_SHARE_SATURATED of bodies failing one that is.
 */
export function assertLoadChecked(name: string, result: LoadResult, check: PageCheck | undefined): void {
  assertAllSucceeded(name, result);
  if (check && !check.counted && result.mismatches > 0) {
    throw new Error(
      `${name}: ${result.mismatches} of ${result.requests} answers under load were not ${check.label}`,
    );
  }
  assertMissShare(
    `${name} (under load)`,
    check,
    result.mismatches,
    result.requests,
    MAX_MISS_SHARE_SATURATED,
  );
}

/** A load target whose answers may be checked (a proxy benchmark's row). */
export interface CheckedTarget {
  name: string;
  url: string;
  headers?: LoadOptions['headers'];
  check?: PageCheck;
  /**
   * A row for reference only (a floor), whose non-2xx answers are reported in its table, not failed:
   * `/healthz` answers 503 when it judges a component down, an answer of that route, not a page failing.
   */
  reference?: boolean;
}

/**
 * One saturated measurement of a target: a discarded warm-up run (JIT, connections, caches), then the
 * measured run with every body checked, failed as `assertLoadChecked` says.
 */
export async function measuredLoad(
  target: CheckedTarget,
  options: { connections: number; duration: number; warmup: number },
): Promise<LoadResult> {
  const { connections, duration, warmup } = options;
  await runLoad({ url: target.url, connections, duration: warmup, headers: target.headers });
  const result = await runLoad({
    url: target.url,
    connections,
    duration,
    headers: target.headers,
    ...(target.check ? { verifyBody: target.check.okUnderLoad } : {}),
  });
  if (!target.reference) assertLoadChecked(target.name, result, target.check);
  return result;
}

/** autocannon's `setupRequest` hook that sets fresh headers on every request it sends. */
function withHeaders(make: () => Record<string, string>) {
  return (request: { headers?: Record<string, string> }) => ({
    ...request,
    headers: { ...request.headers, ...make() },
  });
}
