/**
 * `npm run bench -- cold-start [--rounds 5]`: what the first shoppers of a cold isolate wait for. Each
 * round starts a fresh worker (`wrangler dev`, the built-in bundle, no cache) and sends, in order:
 * 1. the isolate's first requests that need the bundle;
 * 2. the same again right after (they may meet the ORT session phase, one synchronous block);
 * 3. the same again one second later, on a warm isolate.
 * Script mode: the plugin script is the browser's first contact, then the plugin's two calls go out at
 * once: `/v1/prices` for the product and `/v1/recommendations` for a new shopper on its page.
 * Proxy mode (the demo shop as the origin): a new shopper's product page.
 *
 * An isolate's first model load verifies the bundle (tens of ms), then creates its ORT sessions:
 * ~0.3-0.5 s here, most of it one synchronous block while ORT's WebAssembly runtime starts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type RunningWorker, runWrangler } from '../support/run-wrangler';
import { startServiceProcess } from '../support/service-process';
import { ACCEPT_HTML, BROWSER_UA } from '../support/shopper';
import { percentile, round } from '../support/stats';
import type { BenchResult } from '../types';

const here = path.dirname(fileURLToPath(import.meta.url));
const PRODUCT = '85123A';
const PRICES = `/v1/prices?product_ids=${PRODUCT}`;
const RECOMMENDATIONS = `/v1/recommendations?placement=product&product_id=${PRODUCT}&limit=4`;
const READY_PATH = '/bench-ready';

interface Timed {
  ms: number;
  body: { prices?: unknown[]; items?: unknown[]; source?: string };
}

async function timed(url: string): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const body = (await response.json()) as Timed['body'];
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
  return { ms, body };
}

/** The plugin's two calls, sent together as the plugin sends them. */
async function pluginCalls(worker: RunningWorker): Promise<{ prices: Timed; recommendations: Timed }> {
  const [prices, recommendations] = await Promise.all([
    timed(`${worker.url}${PRICES}`),
    timed(`${worker.url}${RECOMMENDATIONS}`),
  ]);
  if (prices.body.prices?.length !== 1) throw new Error(`no price for ${PRODUCT}`);
  if (recommendations.body.items?.length !== 4) throw new Error('recommendations came back short');
  return { prices, recommendations };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A new shopper's product page through the proxy: how long the whole page took, and its filled items. */
async function page(worker: RunningWorker): Promise<{ ms: number; items: number }> {
  const started = performance.now();
  const response = await fetch(`${worker.url}/products/${PRODUCT}`, {
    headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA },
  });
  const body = await response.text();
  const ms = performance.now() - started;
  if (!response.ok) throw new Error(`page: ${response.status}`);
  return { ms, items: body.split('class="rx-item"').length - 1 };
}

type Stage = 'first' | 'right after' | 'one second later';
const STAGES: Array<[Stage, number]> = [
  ['first', 0],
  ['right after', 0],
  ['one second later', 1_000],
];

export default async function coldStart(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({ args, options: { rounds: { type: 'string', default: '5' } } });
  const rounds = Number(values.rounds);
  const samples = new Map<string, number[]>();
  const add = (name: string, ms: number) => samples.set(name, [...(samples.get(name) ?? []), ms]);
  const sources: Record<Stage, string[]> = { first: [], 'right after': [], 'one second later': [] };
  const filled: Record<Stage, number[]> = { first: [], 'right after': [], 'one second later': [] };
  // As in production, where the secret is set (without it every shopper gets the page-only answer).
  const userHashKey = `bench-${crypto.randomUUID()}`;

  for (let round = 0; round < rounds; round++) {
    // readyPath is the plugin script: the worker's first request is the browser's first contact.
    const worker = await runWrangler({
      config: path.join(here, '../api-worker/wrangler.toml'),
      readyPath: '/rx.js',
      vars: { UPSTASH_REDIS_REST_URL: '', UPSTASH_REDIS_REST_TOKEN: '', USER_HASH_KEY: userHashKey },
    });
    try {
      for (const [stage, wait] of STAGES) {
        await sleep(wait);
        const calls = await pluginCalls(worker);
        add(`script mode, ${stage}: /v1/prices`, calls.prices.ms);
        add(`script mode, ${stage}: /v1/recommendations`, calls.recommendations.ms);
        sources[stage].push(calls.recommendations.body.source ?? '?');
      }
    } finally {
      await worker.stop();
    }
  }

  const shop = await startServiceProcess(
    'scripts/demo-shop/cli.ts',
    ['--port', '0'],
    /demo shop: (http:\/\/\S+)\r?\n/,
  );
  try {
    for (let round = 0; round < rounds; round++) {
      // Ready when an excluded path answers: passed through like a crawler's request, it starts no
      // model load, so the shopper's page is the isolate's first request that does.
      const worker = await runWrangler({
        config: path.join(here, '../api-worker/wrangler.toml'),
        readyPath: READY_PATH,
        vars: {
          ORIGIN_URL: shop.ready[1] ?? '',
          RX_EXCLUDE_PATHS: READY_PATH,
          UPSTASH_REDIS_REST_URL: '',
          UPSTASH_REDIS_REST_TOKEN: '',
          USER_HASH_KEY: userHashKey,
        },
      });
      try {
        for (const [stage, wait] of STAGES) {
          await sleep(wait);
          const result = await page(worker);
          // A page the block was left out of is a fast page of another kind: not this row's figure.
          if (result.items === 0)
            throw new Error(`proxy, ${stage}: the product page came without recommendations`);
          add(`proxy, ${stage}: product page`, result.ms);
          filled[stage].push(result.items);
        }
      } finally {
        await worker.stop();
      }
    }
  } finally {
    await shop.close();
  }

  const rows = [...samples.entries()].map(([request, values]) => ({
    request,
    samples: values.length,
    'p50 ms': round(percentile(values, 50), 1),
    'max ms': round(Math.max(...values), 1),
  }));
  const list = (record: Record<Stage, Array<string | number>>) =>
    STAGES.map(([stage]) => `${stage}: ${record[stage].join(',')}`).join('; ');
  return {
    title: `Cold start: a fresh isolate's first requests, the next ones, and a warm isolate's (wrangler dev, built-in bundle, no cache; ${rounds} fresh workers per mode)`,
    columns: ['request', 'samples', 'p50 ms', 'max ms'],
    rows,
    notes: [
      `recommendation sources, script mode: ${list(sources)}`,
      `recommendations filled on proxied pages: ${list(filled)}`,
    ],
    details: { rounds, samples: Object.fromEntries(samples), sources, filled },
  };
}
