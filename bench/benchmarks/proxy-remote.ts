/**
 * `npm run bench -- proxy-remote --worker URL --origin URL [--path P] [--samples N] [--pause-ms N]`
 *
 * Issue 5's latency measurement against a DEPLOYED worker and the shop's real origin, for whoever has
 * a Cloudflare account and Upstash credentials: the `proxy` benchmark runs everything on this machine
 * (wrangler dev, a local Upstash server, a demo shop answering in under a millisecond), which is
 * what its ratio measures. Same method as `proxy`: the page direct from the origin, through the
 * worker as pass-through (a crawler's request) and personalized for one returning shopper with a warm
 * cache, sequential requests taken round-robin with the same idle gap after each (`--pause-ms`,
 * default 5: the work a personalized page leaves behind finishes before the next request), p50/p99 of
 * the whole page and of its first byte.
 *
 * Not here, on purpose: the floor row (it needs the bench-only floor worker deployed beside the real
 * one) and saturated throughput (load against a live shop is not a benchmark's call to make).
 *
 * The shopper is checked to be in the treatment group (a held-out shopper gets the original page,
 * which would make the personalized row a second pass-through row): up to 20 fresh shoppers are
 * tried before the run gives up and says why.
 *
 * As in `proxy`, every answer must be 2xx, every personalized answer is checked for a filled slot (those
 * without one, the worker's fallback to the original page, are counted and reported; over 1 % of them
 * fails the run), and every
 * pass-through answer must be the origin's page byte for byte, if the origin's page is the same on two
 * requests; if it is not (a timestamp, a token), pass-through answers are only checked to have no filled slot.
 */
import { parseArgs } from 'node:util';
import { measureInterleaved } from '../support/latency';
import { originPage, stablePage, unpersonalizedPage } from '../support/page-check';
import { GOAL_RATIO, goalNote, ratio } from '../support/proxy-goal';
import { goalTargets, LATENCY_COLUMNS, latencyCells } from '../support/proxy-rows';
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

const SHOPPERS_TRIED = 20;

function baseUrl(name: string, text: string | undefined): string {
  if (!text) throw new Error(`--${name} is required: the ${name}'s base URL, e.g. https://shop.example`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--${name} must be an absolute http(s) URL, got "${text}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`--${name} must be an http(s) URL, got "${text}"`);
  }
  return url.origin;
}

/** A returning shopper (rx_uid cookie) whose page comes back personalized, with the page as it came. */
async function treatedShopper(pageUrl: string) {
  for (let attempt = 1; attempt <= SHOPPERS_TRIED; attempt += 1) {
    const cookie = await shopperCookie(pageUrl);
    const headers = { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA, cookie };
    // The first view fills the cache; the second is what the benchmark measures: a warm hit.
    await personalization(pageUrl, headers);
    const page = await personalization(pageUrl, headers);
    if (page.blocks > 0) return { headers, page, attempts: attempt };
  }
  throw new Error(
    `none of ${SHOPPERS_TRIED} new shoppers got a personalized page at ${pageUrl}: does the page have a ` +
      'data-rx-slot (or an RX_SLOTS match), is a model bundle published (/healthz models), and is ' +
      'HOLDOUT_PERCENT below 100?',
  );
}

export default async function proxyRemoteBench(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      worker: { type: 'string' },
      origin: { type: 'string' },
      path: { type: 'string', default: '/products/85123A' },
      samples: { type: 'string' },
      'pause-ms': { type: 'string' },
    },
  });
  const worker = baseUrl('worker', values.worker);
  const origin = baseUrl('origin', values.origin);
  const samples = positiveOption('samples', values.samples, 500);
  const pauseMs = pauseMsOption(values['pause-ms']);
  const workerPage = `${worker}${values.path}`;

  const shopper = await treatedShopper(workerPage);
  const crawler = { accept: ACCEPT_HTML, 'user-agent': CRAWLER_UA };
  const originBody = await stablePage(`${origin}${values.path}`, crawler);
  const passThroughCheck = originBody === undefined ? unpersonalizedPage : originPage(originBody);
  const targets = goalTargets(`${origin}${values.path}`, workerPage, shopper.headers, passThroughCheck);
  const latency = await measureInterleaved(targets, samples, 50, pauseMs);
  const rows = targets.map((target, index) => {
    const seq = latency[index];
    if (!seq) throw new Error(`no result for ${target.name}`);
    return latencyCells(target, seq, latency[1]);
  });
  const p50Ratio = ratio(latency[2]?.total.p50, latency[1]?.total.p50);
  const ttfbDelayMs = (latency[2]?.ttfb.p50 ?? Number.NaN) - (latency[1]?.ttfb.p50 ?? Number.NaN);
  return {
    variant: new URL(worker).hostname,
    title: `Proxy on a deployed worker: GET ${values.path} via ${worker} (origin ${origin}); ${samples} sequential requests per target, interleaved, ${pauseMs} ms apart`,
    columns: LATENCY_COLUMNS,
    rows,
    notes: [
      goalNote(p50Ratio, ttfbDelayMs),
      `The personalized page had ${shopper.page.blocks} recommendation block(s) with ${shopper.page.items} item(s), ` +
        `Cache-Control: ${shopper.page.cacheControl} (treatment shopper found on attempt ${shopper.attempts}).`,
      "Times include the network between this machine and Cloudflare (and the origin): run it from near the shop's shoppers.",
      `Checked on every measured answer: 2xx; pass-through answers are ${passThroughCheck.label}` +
        (originBody === undefined
          ? " (the origin's page differed between two requests, so not byte for byte)"
          : '') +
        '; unpersonalized: personalized answers without a filled slot, included in the times; over 1 % of them fails the run.',
    ],
    details: {
      worker,
      origin,
      path: values.path,
      samples,
      pauseMs,
      goalRatio: GOAL_RATIO,
      p50Ratio,
      ttfbDelayMs,
      personalizedPage: shopper.page,
      passThroughCheck: passThroughCheck.label,
      latency: targets.map((target, index) => ({ name: target.name, ...latency[index] })),
    },
  };
}
