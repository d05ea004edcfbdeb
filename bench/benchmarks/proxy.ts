/**
 * `npm run bench -- proxy [--samples N] [--pause-ms N] [--duration S] [--connections N] [--path P] [--origin-delay-ms N] [--home-too]`
 *
 * The demo shop's product page in one run, five ways: direct from the origin, through the worker as
 * pass-through (a crawler's request: no rewriting), through the worker personalized for one
 * returning shopper with a warm cache (slots filled, prices rewritten, page-view event queued), and
 * the floor: passed through by a bench-only worker that meanwhile does the personalized page's
 * recommendation lookup and nothing else (bench/proxy-floor-worker), i.e. what one cache round trip
 * costs before a byte is rewritten. And a first visit: a browser without the cookie, so every request
 * is a new shopper's first page (page-only slots, no cache lookup).
 *
 * Two measurements per target, because they answer different questions:
 * - **Latency** (the goal of issue 5): what one page view costs a shopper. Sequential requests, taken
 *   round-robin across the targets so the drift of a shared machine hits all of them alike; p50/p99
 *   of the whole page and of its first byte. An idle gap after each request (`--pause-ms`, default 5)
 *   lets the work a page leaves behind (the personalized page's page-view event, 1 ms after its last
 *   byte) finish before the next request: without it that work landed on whichever target came next
 *   in the round (the floor row), as it never does between a shopper's page views.
 * - **Throughput**: requests/s at saturation (autocannon, N connections), with p50/p99 under that load.
 *   On a machine where the load generator, origin, Upstash, MongoDB, the queue consumer and the worker
 *   share two cores, the mean latency at saturation is connections ÷ throughput (Little's law; the
 *   p50, in autocannon's whole milliseconds, is below it): it compares the CPU of the whole stack per
 *   page, not what a shopper waits.
 *
 * The worker rows go through wrangler dev's proxy worker (another workerd in front of the worker's,
 * which production does not have). When wrangler names the worker's own address (see
 * scripts/dev/dev-worker-main.ts), pass-through, personalized and floor are also measured straight to
 * workerd, without it.
 *
 * `--origin-delay-ms` makes the demo shop take that long per request, like a real shop's server time
 * (the demo shop answers in well under a millisecond, which no real origin does).
 *
 * What is timed is checked: any non-2xx answer, error or timeout fails the run; pass-through and floor
 * pages must be the origin's page byte for byte; personalized and first-visit pages must have a filled
 * slot, and those that came back without one (the worker sends the original page when its 50 ms budget
 * runs out) are counted in the table, not just mixed into the times; over 1 % of a row's sequential
 * answers or 5 % of its saturated ones fail the run (support/page-check.ts MAX_MISS_SHARE*).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { measureInterleaved } from '../support/latency';
import { type LoadResult, measuredLoad } from '../support/load';
import { type PageCheck, personalizedPage, samePageAsOrigin, share } from '../support/page-check';
import { startFloorWorker } from '../support/proxy-floor';
import { GOAL_RATIO, goalNote, ratio, times } from '../support/proxy-goal';
import { goalTargets, LATENCY_COLUMNS, latencyCells } from '../support/proxy-rows';
import { withProxyBenchStack } from '../support/proxy-stack';
import {
  ACCEPT_HTML,
  BROWSER_UA,
  CRAWLER_UA,
  pauseMsOption,
  personalization,
  positiveOption,
  shopperCookie,
} from '../support/shopper';
import type { BenchResult } from '../types';

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The row this one's p50 is compared with (its own pass-through). */
  base: number;
  check?: PageCheck;
}

export default async function proxyBench(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      samples: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      path: { type: 'string', default: '/products/85123A' },
      'origin-delay-ms': { type: 'string' },
      'pause-ms': { type: 'string' },
      'home-too': { type: 'boolean', default: false },
    },
  });
  const samples = positiveOption('samples', values.samples, 500);
  const duration = positiveOption('duration', values.duration, 10);
  const connections = positiveOption('connections', values.connections, 10);
  const pauseMs = pauseMsOption(values['pause-ms']);
  const originDelayMs = values['origin-delay-ms'] === undefined ? 0 : Number(values['origin-delay-ms']);
  if (!Number.isFinite(originDelayMs) || originDelayMs < 0) {
    throw new Error(`--origin-delay-ms must be 0 or more, got "${values['origin-delay-ms']}"`);
  }
  const warmup = Math.min(3, duration);
  const loadBefore = os.loadavg()[0];

  return withProxyBenchStack(
    async (stack) => {
      const workerUrl = `${stack.workerUrl}${values.path}`;
      const cookie = await shopperCookie(workerUrl);
      const browser = { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA, cookie };
      const crawler = { accept: ACCEPT_HTML, 'user-agent': CRAWLER_UA };
      const firstVisit = { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA };
      const page = await personalization(workerUrl, browser);
      const firstPage = await personalization(workerUrl, firstVisit);
      // Without blocks the personalized rows would time the proxy and rewriter only: not worth a table.
      if (page.blocks === 0 || firstPage.blocks === 0) {
        throw new Error(
          `the page through the worker is NOT personalized (returning shopper: ${page.blocks} block(s), ` +
            `first visit: ${firstPage.blocks}; status ${page.status}): is a model bundle embedded?`,
        );
      }
      const product = await samePageAsOrigin(`${stack.originUrl}${values.path}`, crawler);
      // Started after the page above, which left this shopper's recommendations in the cache.
      const floor = await startFloorWorker(stack, values.path, browser);
      const targets: Target[] = [
        ...goalTargets(`${stack.originUrl}${values.path}`, workerUrl, browser, product).map((target) => ({
          ...target,
          base: 1,
        })),
        {
          name: 'floor: pass-through + the cache lookup only',
          url: `${floor.url}${values.path}`,
          headers: browser,
          base: 1,
          check: product,
        },
        // A new visitor (no cookie): every request a first page, with the page-only slots of a
        // first-time shopper (no cache lookup), the new cookie and the page-view event.
        {
          name: 'worker, first visit (no cookie)',
          url: workerUrl,
          headers: firstVisit,
          base: 1,
          check: personalizedPage,
        },
      ];
      if (values['home-too']) {
        // The home page's page-view is a `page` call, which leaves the shopper's cached results fresh,
        // while each `Product Viewed` may make them stale (recomputed in the background): both sides.
        const home = `${stack.workerUrl}/`;
        const homePage = await samePageAsOrigin(`${stack.originUrl}/`, crawler);
        const base = targets.length;
        targets.push(
          { name: 'home: worker, pass-through', url: home, headers: crawler, base, check: homePage },
          {
            name: 'home: worker, personalized (warm cache)',
            url: home,
            headers: browser,
            base,
            check: personalizedPage,
          },
        );
      }
      // The same three rows without wrangler's proxy worker in front (production has none): it runs
      // in a workerd of its own, forwards every request and parses every HTML response again.
      const workerd = stack.workerdUrl();
      const floorWorkerd = floor.workerdUrl();
      let direct: number | undefined;
      if (workerd !== undefined && floorWorkerd !== undefined) {
        direct = targets.length;
        const straight = `${workerd.replace(/\/$/, '')}${values.path}`;
        targets.push(
          {
            name: 'straight to workerd: pass-through',
            url: straight,
            headers: crawler,
            base: direct,
            check: product,
          },
          {
            name: 'straight to workerd: personalized',
            url: straight,
            headers: browser,
            base: direct,
            check: personalizedPage,
          },
          {
            name: 'straight to workerd: floor',
            url: `${floorWorkerd.replace(/\/$/, '')}${values.path}`,
            headers: browser,
            base: direct,
            check: product,
          },
        );
      }
      try {
        const latency = await measureInterleaved(targets, samples, 50, pauseMs);
        const load: LoadResult[] = [];
        for (const target of targets)
          load.push(await measuredLoad(target, { connections, duration, warmup }));

        const rows = targets.map((target, index) => {
          const seq = latency[index];
          const sat = load[index];
          if (!seq || !sat) throw new Error(`no result for ${target.name}`);
          return {
            ...latencyCells(target, seq, latency[target.base]),
            'req/s (saturated)': Math.round(sat.requestsPerSecond),
            'p50 ms (saturated)': sat.latencyMs.p50,
            'p99 ms (saturated)': sat.latencyMs.p99,
            'unpersonalized (saturated)': share(target.check, sat.mismatches, sat.requests),
            'non-2xx': sat.non2xx,
            errors: sat.errors, // autocannon counts timeouts among errors
          };
        });
        const p50Ratio = ratio(latency[2]?.total.p50, latency[1]?.total.p50);
        const ttfbRatio = ratio(latency[2]?.ttfb.p50, latency[1]?.ttfb.p50);
        const ttfbDelayMs = (latency[2]?.ttfb.p50 ?? Number.NaN) - (latency[1]?.ttfb.p50 ?? Number.NaN);
        const saturatedRatio = ratio(load[2]?.latencyMs.p50, load[1]?.latencyMs.p50);
        const floorRatio = ratio(latency[3]?.total.p50, latency[1]?.total.p50);
        const straight =
          direct === undefined
            ? undefined
            : {
                p50Ratio: ratio(latency[direct + 1]?.total.p50, latency[direct]?.total.p50),
                floorRatio: ratio(latency[direct + 2]?.total.p50, latency[direct]?.total.p50),
                ttfbDelayMs:
                  (latency[direct + 1]?.ttfb.p50 ?? Number.NaN) - (latency[direct]?.ttfb.p50 ?? Number.NaN),
              };
        const originNote =
          originDelayMs > 0
            ? `The origin waited ${originDelayMs} ms per request (--origin-delay-ms), like a real shop's server time.`
            : 'The origin is the demo shop as it is: it answers in well under a millisecond, faster than any real shop.';
        return {
          // A run against a slower origin is kept next to the main one, not over it.
          ...(originDelayMs > 0 ? { variant: `origin-${originDelayMs}ms` } : {}),
          title:
            `Proxy: GET ${values.path}; latency from ${samples} sequential requests per target, interleaved, ${pauseMs} ms apart; ` +
            `saturated throughput with ${connections} connections × ${duration} s (loopback, wrangler dev)`,
          columns: [
            ...LATENCY_COLUMNS,
            'req/s (saturated)',
            'p50 ms (saturated)',
            'p99 ms (saturated)',
            'unpersonalized (saturated)',
            'non-2xx',
            'errors',
          ],
          rows,
          notes: [
            goalNote(p50Ratio, ttfbDelayMs, ttfbRatio),
            `Floor: the same page passed through while the worker gets this shopper's recommendations as the ` +
              `personalized page does (one cache round trip, warm hit), with no rewriting, prices or page-view ` +
              `event: ${times(floorRatio)} pass-through. No page that reads the shopper's cached state can be ` +
              `faster on this stack; the personalized row's rewriting, prices and event add ` +
              `${((latency[2]?.total.p50 ?? Number.NaN) - (latency[3]?.total.p50 ?? Number.NaN)).toFixed(2)} ms on top.`,
            `At saturation (${connections} connections) the personalized p50 is ${times(saturatedRatio)} pass-through's: ` +
              'that is the ratio of whole-stack CPU per page on this machine (req/s columns), not what a shopper waits.',
            originNote,
            `The personalized page had ${page.blocks} recommendation block(s) with ${page.items} item(s), Cache-Control: ${page.cacheControl}.`,
            "Checked on every measured answer: pass-through and floor pages byte for byte the origin's, non-2xx answers and errors fail " +
              'the run. unpersonalized: personalized or first-visit answers without a filled slot (the worker sends the original ' +
              'page when its 50 ms budget runs out); they are counted here and included in the times, as shoppers get them. ' +
              "Over 1 % of a row's sequential answers, or 5 % under saturated load (where some budgets run out), fails the run.",
            `A first visit (no cookie) is a new shopper on every request: the page-only slots of a first-time shopper ` +
              `(items like the product, from the isolate's memo; no cache lookup or write), the new rx_uid cookie and the ` +
              `page-view event. Its page had ${firstPage.blocks} block(s) with ${firstPage.items} item(s): ` +
              `${times(ratio(latency[4]?.total.p50, latency[1]?.total.p50))} pass-through.`,
            `Everything shares ${os.cpus().length} cores (load average ${loadBefore?.toFixed(1)} before, ${os.loadavg()[0]?.toFixed(1)} after).`,
            straight === undefined
              ? "The worker rows include wrangler dev's proxy worker, which production Workers do not have; this wrangler " +
                "version did not name the worker's own address, so there are no rows without it."
              : "The 'worker' and 'floor' rows go through wrangler dev's proxy worker, which production Workers do not have " +
                '(another workerd that forwards every request and parses every HTML response again). Without it ' +
                `('straight to workerd'): personalized ${times(straight.p50Ratio)} pass-through, floor ` +
                `${times(straight.floorRatio)}, first byte ${straight.ttfbDelayMs.toFixed(2)} ms later; ` +
                `the goal against these rows: ${straight.p50Ratio <= GOAL_RATIO ? 'met' : 'NOT met'}.`,
          ],
          details: {
            path: values.path,
            samples,
            connections,
            durationSeconds: duration,
            warmupSeconds: warmup,
            originDelayMs,
            pauseMs,
            goalRatio: GOAL_RATIO,
            p50Ratio,
            ttfbP50Ratio: ttfbRatio,
            ttfbDelayMs,
            saturatedP50Ratio: saturatedRatio,
            floorP50Ratio: floorRatio,
            straightToWorkerd: straight ?? null,
            personalizedPage: page,
            firstVisitPage: firstPage,
            upstashBackend: stack.upstash?.backend,
            latency: targets.map((target, index) => ({ name: target.name, ...latency[index] })),
            load: targets.map((target, index) => ({ name: target.name, ...load[index] })),
          },
        };
      } finally {
        await floor.stop();
      }
    },
    { originDelayMs },
  );
}
