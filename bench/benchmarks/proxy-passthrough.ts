/**
 * `npm run bench -- proxy-passthrough [--duration S] [--connections N] [--path P]`
 *
 * Requests/s and p50/p99 latency of the same demo shop page, in one run, served three ways on
 * loopback: by the demo shop directly, through the worker (`wrangler dev`) passed through untouched
 * (a crawler's request: the proxy streams the origin's bytes), and through the worker personalized
 * for one returning shopper (slots filled, prices rewritten, page-view event queued). The worker's
 * own `/healthz` is measured too, as the floor that wrangler dev sets on the same machine.
 *
 * Any non-2xx answer, error or timeout fails the run; every pass-through answer must be the origin's
 * page (byte for byte, up to characters autocannon splits between chunks); personalized answers
 * without a filled slot (the worker's fallback when its budget ran out) are counted in the table, and
 * over 5 % of them fail the run (support/page-check.ts MAX_MISS_SHARE_SATURATED).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { type CheckedTarget, type LoadResult, measuredLoad, nonSuccessStatuses } from '../support/load';
import { type PageCheck, personalizedPage, samePageAsOrigin, share } from '../support/page-check';
import { withProxyBenchStack } from '../support/proxy-stack';
import { ACCEPT_HTML, BROWSER_UA, CRAWLER_UA, positiveOption, shopperCookie } from '../support/shopper';
import type { BenchResult } from '../types';

interface Target extends CheckedTarget {
  headers: Record<string, string>;
}

export default async function proxyPassthrough(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      path: { type: 'string', default: '/products/85123A' },
    },
  });
  const duration = positiveOption('duration', values.duration, 10);
  const connections = positiveOption('connections', values.connections, 10);
  const warmup = Math.min(3, duration);
  const loadBefore = os.loadavg()[0]?.toFixed(1);

  return withProxyBenchStack(async (stack) => {
    const shopUrl = `${stack.originUrl}${values.path}`;
    const workerUrl = `${stack.workerUrl}${values.path}`;
    const cookie = await shopperCookie(workerUrl);
    const crawler = { accept: ACCEPT_HTML, 'user-agent': CRAWLER_UA };
    const targets: Target[] = [
      {
        name: 'demo shop, direct',
        url: shopUrl,
        headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA },
      },
      {
        name: 'worker, pass-through (crawler)',
        url: workerUrl,
        headers: crawler,
        check: await samePageAsOrigin(shopUrl, crawler),
      },
      {
        // The floor wrangler dev itself sets on this machine: a worker route that fetches nothing.
        name: 'worker, own route (/healthz), for reference',
        url: `${stack.workerUrl}/healthz`,
        headers: {},
        reference: true,
      },
      {
        name: 'worker, personalized (returning shopper)',
        url: workerUrl,
        headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA, cookie },
        check: personalizedPage,
      },
    ];
    const results: Array<{ name: string; check?: PageCheck; result: LoadResult }> = [];
    for (const target of targets) {
      const result = await measuredLoad(target, { connections, duration, warmup });
      results.push({ name: target.name, check: target.check, result });
    }
    const direct = results[0]?.result.requestsPerSecond ?? 0;
    return {
      title: `Proxy pass-through: GET ${values.path}, ${connections} connections, ${duration} s each (loopback, wrangler dev --local)`,
      columns: [
        'target',
        'req/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'vs direct',
        'unpersonalized',
        'non-2xx',
        'errors',
      ],
      rows: results.map(({ name, check, result }) => ({
        target: name,
        'req/s': Math.round(result.requestsPerSecond),
        'p50 ms': result.latencyMs.p50,
        'p99 ms': result.latencyMs.p99,
        'max ms': result.latencyMs.max,
        'vs direct': direct > 0 ? `${((result.requestsPerSecond / direct) * 100).toFixed(0)}%` : 'n/a',
        unpersonalized: share(check, result.mismatches, result.requests),
        'non-2xx': result.non2xx === 0 ? 0 : `${result.non2xx} ${nonSuccessStatuses(result)}`,
        errors: result.errors, // autocannon counts timeouts among errors
      })),
      notes: [
        'All on one machine: the load generator, the demo shop, wrangler dev and workerd share its cores, so the ' +
          "worker rows include wrangler dev's local proxy and workerd's dev mode, which production Workers do not have. " +
          `Load average before/after: ${loadBefore} / ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} cores.`,
        'Pass-through is a crawler request (the proxy streams the origin page untouched); personalized is one ' +
          'returning shopper (rx_uid cookie): slots filled, prices rewritten, one page-view event queued per request.',
        "Checked on every answer: non-2xx answers and errors fail the run (except the /healthz reference row, whose non-2xx answers are counted in its row); pass-through answers are the origin's page; " +
          'unpersonalized: personalized answers without a filled slot (the original page, sent when the 50 ms budget ran out), included in the figures; over 5 % of them fails the run (saturated load runs some budgets out, a broken cache or model all).',
      ],
      details: {
        path: values.path,
        connections,
        durationSeconds: duration,
        warmupSeconds: warmup,
        upstashBackend: stack.upstash?.backend,
        loadAverage: { before: Number(loadBefore), after: os.loadavg()[0] },
        results: results.map(({ name, check, result }) => ({ name, check: check?.label ?? null, result })),
      },
    };
  });
}
