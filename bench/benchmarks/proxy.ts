/**
 * `npm run bench -- proxy [--duration S] [--connections N] [--path P] [--ttfb-samples N] [--home-too]`
 *
 * The demo shop's product page in one run, three ways: direct from the origin, through the worker as
 * pass-through (a crawler's request: no rewriting), and through the worker personalized for one
 * returning shopper with a warm cache (slots filled, prices rewritten, page-view event queued).
 * Reports requests/s, p50/p99 latency (autocannon) and time to first byte (sequential requests),
 * and the goal of issue 5: personalized p50 within 1.3× of pass-through, TTFB not delayed.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { type LoadResult, runLoad } from '../support/load';
import { withProxyBenchStack } from '../support/proxy-stack';
import { ACCEPT_HTML, BROWSER_UA, CRAWLER_UA, positiveOption, shopperCookie } from '../support/shopper';
import { measureTtfb, type TtfbResult } from '../support/ttfb';
import type { BenchResult } from '../types';

const GOAL_RATIO = 1.3;

/** What the personalized page really contained, so the table is not read for a page that was not personalized. */
async function personalization(url: string, headers: Record<string, string>) {
  const response = await fetch(url, { headers });
  const body = await response.text();
  return {
    status: response.status,
    cacheControl: response.headers.get('cache-control'),
    blocks: body.split('<section class="rx-block').length - 1,
    items: body.split('class="rx-item"').length - 1,
  };
}

/** p50 against the pass-through row of the same page (row 1 for the product page, row 3 for home). */
function vsPassThrough(results: ReadonlyArray<{ load: LoadResult }>, index: number): string {
  const base = results[index >= 3 ? 3 : 1]?.load.latencyMs.p50;
  const p50 = results[index]?.load.latencyMs.p50;
  return base && p50 !== undefined ? `${(p50 / base).toFixed(2)}×` : 'n/a';
}

export default async function proxyBench(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      path: { type: 'string', default: '/products/85123A' },
      'ttfb-samples': { type: 'string' },
      'home-too': { type: 'boolean', default: false },
    },
  });
  const duration = positiveOption('duration', values.duration, 10);
  const connections = positiveOption('connections', values.connections, 10);
  const ttfbSamples = positiveOption('ttfb-samples', values['ttfb-samples'], 200);
  const warmup = Math.min(3, duration);
  const loadBefore = os.loadavg()[0];

  return withProxyBenchStack(async (stack) => {
    const workerUrl = `${stack.workerUrl}${values.path}`;
    const cookie = await shopperCookie(workerUrl);
    const targets: Array<{ name: string; url: string; headers: Record<string, string> }> = [
      {
        name: 'origin, direct',
        url: `${stack.originUrl}${values.path}`,
        headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA },
      },
      {
        name: 'worker, pass-through',
        url: workerUrl,
        headers: { accept: ACCEPT_HTML, 'user-agent': CRAWLER_UA },
      },
      {
        name: 'worker, personalized (warm cache)',
        url: workerUrl,
        headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA, cookie },
      },
    ];
    if (values['home-too']) {
      // The home page's page-view is a `page` call, which leaves the shopper's cached results fresh,
      // while each `Product Viewed` makes them stale (recomputed in the background): both sides of that.
      const home = `${stack.workerUrl}/`;
      targets.push(
        {
          name: 'home: worker, pass-through',
          url: home,
          headers: { accept: ACCEPT_HTML, 'user-agent': CRAWLER_UA },
        },
        {
          name: 'home: worker, personalized (warm cache)',
          url: home,
          headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA, cookie },
        },
      );
    }
    const results: Array<{ name: string; load: LoadResult; ttfb: TtfbResult }> = [];
    for (const target of targets) {
      // Warm-up: caches (the shopper's cached recommendations), JIT and connections; only the second run counts.
      await runLoad({ url: target.url, connections, duration: warmup, headers: target.headers });
      const load = await runLoad({ url: target.url, connections, duration, headers: target.headers });
      const ttfb = await measureTtfb(target.url, target.headers, ttfbSamples);
      results.push({ name: target.name, load, ttfb });
    }
    const page = await personalization(workerUrl, targets[2]?.headers ?? {});
    const [direct, passThrough, personalized] = results;
    const ratio =
      passThrough && personalized
        ? personalized.load.latencyMs.p50 / passThrough.load.latencyMs.p50
        : Number.NaN;
    const ttfbRatio = passThrough && personalized ? personalized.ttfb.p50 / passThrough.ttfb.p50 : Number.NaN;
    return {
      title: `Proxy: GET ${values.path}, ${connections} connections × ${duration} s per target; TTFB from ${ttfbSamples} sequential requests (loopback, wrangler dev)`,
      columns: [
        'target',
        'req/s',
        'p50 ms',
        'p99 ms',
        'TTFB p50 ms',
        'TTFB p99 ms',
        'p50 vs pass-through',
        'non-2xx',
        'errors',
      ],
      rows: results.map(({ name, load, ttfb }, index) => ({
        target: name,
        'req/s': Math.round(load.requestsPerSecond),
        'p50 ms': load.latencyMs.p50,
        'p99 ms': load.latencyMs.p99,
        'TTFB p50 ms': ttfb.p50,
        'TTFB p99 ms': ttfb.p99,
        'p50 vs pass-through': vsPassThrough(results, index),
        'non-2xx': load.non2xx,
        errors: load.errors + load.timeouts,
      })),
      notes: [
        `Goal: personalized p50 ≤ ${GOAL_RATIO}× pass-through: ${ratio.toFixed(2)}× (${ratio <= GOAL_RATIO ? 'met' : 'NOT met'}); ` +
          `TTFB p50 personalized / pass-through: ${ttfbRatio.toFixed(2)}×.`,
        `The personalized page had ${page.blocks} recommendation block(s) with ${page.items} item(s), Cache-Control: ${page.cacheControl}` +
          (page.blocks === 0
            ? ' — NOT personalized (no model bundle embedded?): read the personalized row as proxy + rewriter overhead only.'
            : '.'),
        `Direct origin req/s ${Math.round(direct?.load.requestsPerSecond ?? 0)}. Everything shares ${os.cpus().length} cores ` +
          `(load average ${loadBefore?.toFixed(1)} before, ${os.loadavg()[0]?.toFixed(1)} after), and the worker rows include ` +
          "wrangler dev's local proxy, which production Workers do not have.",
      ],
      details: {
        path: values.path,
        connections,
        durationSeconds: duration,
        warmupSeconds: warmup,
        ttfbSamples,
        goalRatio: GOAL_RATIO,
        p50Ratio: ratio,
        ttfbP50Ratio: ttfbRatio,
        personalizedPage: page,
        upstashBackend: stack.upstash?.backend,
        results,
      },
    };
  });
}
