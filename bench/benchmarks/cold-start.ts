/**
 * `npm run bench -- cold-start [--rounds 5] [--gaps 0,100]`: what the first shopper of a cold isolate
 * waits for in script mode. Each round starts a fresh worker (`wrangler dev`, the built-in bundle, no
 * cache), fetches the plugin script as the browser's first contact, waits `gap` ms (the browser
 * parsing the page and running the plugin), then sends the plugin's two calls at once:
 * `/v1/prices` for the product and `/v1/recommendations` for a new shopper on that product's page.
 * Then, on the now warm isolate, the same two calls again for comparison.
 *
 * An isolate's first model load verifies the bundle (tens of ms) and creates its ORT sessions, which
 * takes ~0.3-0.5 s here, most of it one synchronous block while ORT's WebAssembly runtime starts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type RunningWorker, runWrangler } from '../support/run-wrangler';
import { percentile, round } from '../support/stats';
import type { BenchResult } from '../types';

const here = path.dirname(fileURLToPath(import.meta.url));
const PRODUCT = '85123A';
const PRICES = `/v1/prices?product_ids=${PRODUCT}`;
const RECOMMENDATIONS = `/v1/recommendations?placement=product&product_id=${PRODUCT}&limit=4`;

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

export default async function coldStart(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: { rounds: { type: 'string', default: '5' }, gaps: { type: 'string', default: '0,100' } },
  });
  const rounds = Number(values.rounds);
  const gaps = values.gaps.split(',').map(Number);
  const samples = new Map<string, number[]>();
  const sources: string[] = [];
  const add = (name: string, ms: number) => samples.set(name, [...(samples.get(name) ?? []), ms]);

  for (let round = 0; round < rounds; round++) {
    for (const gap of gaps) {
      // readyPath is the plugin script: the worker's first request is the browser's first contact.
      const worker = await runWrangler({
        config: path.join(here, '../api-worker/wrangler.toml'),
        readyPath: '/rx.js',
        vars: { UPSTASH_REDIS_REST_URL: '', UPSTASH_REDIS_REST_TOKEN: '' },
      });
      try {
        await sleep(gap);
        const cold = await pluginCalls(worker);
        add(`cold isolate, ${gap} ms after the script: /v1/prices`, cold.prices.ms);
        add(`cold isolate, ${gap} ms after the script: /v1/recommendations`, cold.recommendations.ms);
        sources.push(cold.recommendations.body.source ?? '?');
        const warm = await pluginCalls(worker);
        add('warm isolate: /v1/prices', warm.prices.ms);
        add('warm isolate: /v1/recommendations', warm.recommendations.ms);
      } finally {
        await worker.stop();
      }
    }
  }

  const rows = [...samples.entries()].map(([call, values]) => ({
    call,
    samples: values.length,
    'p50 ms': round(percentile(values, 50), 1),
    'max ms': round(Math.max(...values), 1),
  }));
  return {
    title: `Cold start: the plugin's first calls on a fresh isolate (wrangler dev, built-in bundle, no cache; ${rounds} rounds per gap)`,
    columns: ['call', 'samples', 'p50 ms', 'max ms'],
    rows,
    notes: [`recommendation sources on the cold calls: ${[...new Set(sources)].join(', ')}`],
    details: { rounds, gaps, samples: Object.fromEntries(samples) },
  };
}
