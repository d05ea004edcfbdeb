/**
 * Unloaded latency: sequential GETs over one keep-alive connection per target, each timed from
 * sending the request to the first body byte (TTFB: headers alone are not a byte of the page) and to
 * the last (the whole page).
 *
 * `measureInterleaved` takes its samples round-robin across targets (A, B, C, A, B, C, ...), so
 * drift of a shared, noisy machine (other tenants, CPU frequency, a batch of the queue consumer)
 * lands on every target alike instead of on whichever one happened to run at that moment.
 *
 * Every answer must be 2xx (a fast error page is not a sample: the run fails), and a target with a
 * `check` has every measured body checked (see PageCheck): outside the timed span, in the idle gap.
 * A counted check may fail on at most MAX_MISS_SHARE of a target's samples, or the run fails.
 */
import http from 'node:http';
import https from 'node:https';
import { assertMissShare, MAX_MISS_SHARE, type PageCheck } from './page-check';
import { percentile, round } from './stats';

export interface LatencyResult {
  samples: number;
  /** What every measured body was checked to be, if anything. */
  check: string | null;
  /** Measured bodies that failed a counted check (not personalized); they are in the times too. */
  misses: number;
  /** First body byte, ms. */
  ttfb: { p50: number; p99: number };
  /** Last body byte, ms. */
  total: { p50: number; p90: number; p99: number; mean: number };
}

export interface LatencyTarget {
  /** For messages (the URL otherwise). */
  name?: string;
  url: string;
  headers: Record<string, string>;
  check?: PageCheck;
}

interface Sample {
  /** First body byte, ms. */
  first: number;
  /** Last body byte, ms. */
  total: number;
  body: string;
}

function once(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - started) / 1e6;
    let first: number | undefined;
    const chunks: Buffer[] = [];
    // A deployed worker or shop (`proxy-remote`) is https; the local stack is http.
    const get = url.protocol === 'https:' ? https.get : http.get;
    const request = get(url, { agent, headers }, (response) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        response.resume();
        reject(new Error(`${url} answered ${status}: a failed answer is not a latency sample`));
        return;
      }
      response.on('data', (chunk: Buffer) => {
        first ??= since();
        chunks.push(chunk);
      });
      response.on('end', () => {
        const total = since();
        if (first === undefined) reject(new Error(`empty body from ${url}`));
        else resolve({ first, total, body: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Checks a measured body: true if it counts as a miss; throws if it may never fail. */
function isMiss(target: LatencyTarget, body: string, sample: number): boolean {
  const check = target.check;
  if (!check || check.ok(body)) return false;
  if (check.counted) return true;
  throw new Error(`${target.url}: measured answer ${sample} was not ${check.label}`);
}

const round2 = (value: number) => round(value, 2);

/**
 * `samples` rounds over all targets (after `warmup` unmeasured rounds); one result per target, in order.
 * `pauseMs` is an idle gap after every request: work a target leaves running after its response (a
 * personalized page's page-view event) then finishes before the next request instead of landing on
 * whichever target comes next, as it would not on a shopper's pages, which are seconds apart.
 */
export async function measureInterleaved(
  targets: readonly LatencyTarget[],
  samples = 500,
  warmup = 50,
  pauseMs = 0,
): Promise<LatencyResult[]> {
  const urls = targets.map((target) => new URL(target.url));
  const agents = urls.map((url) =>
    url.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 1 })
      : new http.Agent({ keepAlive: true, maxSockets: 1 }),
  );
  const firsts = targets.map(() => [] as number[]);
  const totals = targets.map(() => [] as number[]);
  const misses = targets.map(() => 0);
  try {
    for (let i = 0; i < warmup + samples; i += 1) {
      for (const [index, target] of targets.entries()) {
        const sample = await once(agents[index] as http.Agent, urls[index] as URL, target.headers);
        if (i >= warmup) {
          firsts[index]?.push(sample.first);
          totals[index]?.push(sample.total);
          if (isMiss(target, sample.body, i - warmup + 1)) misses[index] = (misses[index] ?? 0) + 1;
        }
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  // Past the bound, a row's times (and the goal's ratio) would be partly the fallback page's.
  for (const [index, target] of targets.entries())
    assertMissShare(target.name ?? target.url, target.check, misses[index] ?? 0, samples, MAX_MISS_SHARE);
  return targets.map((target, index) => {
    const first = firsts[index] ?? [];
    const total = totals[index] ?? [];
    return {
      samples,
      check: target.check?.label ?? null,
      misses: misses[index] ?? 0,
      ttfb: { p50: round2(percentile(first, 50)), p99: round2(percentile(first, 99)) },
      total: {
        p50: round2(percentile(total, 50)),
        p90: round2(percentile(total, 90)),
        p99: round2(percentile(total, 99)),
        mean: round2(total.reduce((sum, t) => sum + t, 0) / Math.max(1, total.length)),
      },
    };
  });
}
