/**
 * `npm run bench -- api [--duration 10] [--connections 10]`: `/v1/recommendations` requests per second
 * and latency under `wrangler dev --local`, in one run:
 * - `/healthz`: the floor (routing, JSON, health probes; no inference, no cache);
 * - warm cache: one shopper (fixed `rx_uid`) asking for the same product page: one Upstash round trip, hit;
 * - first-time shopper: no cookie, so every request is a new shopper, whose id the worker has just made:
 *   the page-only answer from the isolate's memo, no Redis (nothing can be stored under a new id);
 * - cache miss: every request a different returning shopper (a cookie seen for the first time, with
 *   nothing cached under it): lookup miss, ONNX inference, cache write;
 * - `tracking=off`: a shopper who may not be tracked (the plugin before consent): no id, no Redis, the
 *   answer from the isolate's memo of the same query after the first request;
 * - no cache configured: a second worker without Upstash credentials, returning shoppers as in the
 *   cache-miss row: inference only.
 * The cache is the local Upstash-compatible server with a real redis-server behind it; the model is a
 * 300-item fixture bundle published through `npm run models:publish`'s code path.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { publishBundle } from '../../scripts/models-publish';
import { buildFixtureBundle, writeFixtureBundle } from '../../test/support/fixture-bundle';
import { type LoadResult, runLoad } from '../support/load';
import { startLocalUpstashProcess } from '../support/local-upstash-process';
import { type RunningWorker, runWrangler } from '../support/run-wrangler';
import { round } from '../support/stats';
import type { BenchResult } from '../types';

const here = path.dirname(fileURLToPath(import.meta.url));
const PRODUCT_QUERY = '/v1/recommendations?placement=product&product_id=P10042&limit=8';

interface Scenario {
  name: string;
  path: string;
  headers: Record<string, string>;
  perRequestHeaders?: () => Record<string, string>;
}

/** A different returning shopper on every request: a cookie with nothing cached under it. */
const anotherReturningShopper = () => ({ cookie: `rx_uid=${crypto.randomUUID()}` });

/** The plugin's first call on a first page (script mode): an id it just made, and the hint that says so. */
const scriptFirstCall = () => ({ 'x-rx-uid': crypto.randomUUID(), 'x-rx-uid-new': '1' });

/** Starts the API worker, publishes the fixture bundle and checks one answer before measuring. */
async function startApiWorker(bundleDir: string, vars: Record<string, string>): Promise<RunningWorker> {
  const adminToken = `bench-${crypto.randomUUID()}`;
  const worker = await runWrangler({
    config: path.join(here, '../api-worker/wrangler.toml'),
    readyPath: '/healthz',
    vars: { ...vars, ADMIN_TOKEN: adminToken, PRICE_SIGNING_KEY: `bench-${crypto.randomUUID()}` },
  });
  try {
    await publishBundle(bundleDir, { url: worker.url, adminToken });
    const sample = (await (await fetch(`${worker.url}${PRODUCT_QUERY}`)).json()) as {
      model_version: string;
      items: unknown[];
    };
    if (sample.model_version !== 'bench-300' || sample.items.length !== 8) {
      throw new Error(`unexpected answer before the run: ${JSON.stringify(sample).slice(0, 300)}`);
    }
    return worker;
  } catch (error) {
    await worker.stop();
    throw error;
  }
}

function row(name: string, result: LoadResult) {
  return {
    scenario: name,
    rps: round(result.requestsPerSecond, 0),
    p50_ms: result.latencyMs.p50,
    p99_ms: result.latencyMs.p99,
    requests: result.requests,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export default async function api(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: { duration: { type: 'string' }, connections: { type: 'string' } },
  });
  const duration = Number(values.duration ?? 10);
  const connections = Number(values.connections ?? 10);
  const bundleDir = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-bundle-'));
  await writeFixtureBundle(buildFixtureBundle({ version: 'bench-300', items: 300, k: 50 }), bundleDir);

  const rows: Array<ReturnType<typeof row>> = [];
  const raw: Record<string, LoadResult> = {};
  const measure = async (worker: RunningWorker, scenarios: Scenario[]) => {
    for (const scenario of scenarios) {
      const result = await runLoad({
        url: `${worker.url}${scenario.path}`,
        headers: scenario.headers,
        ...(scenario.perRequestHeaders ? { perRequestHeaders: scenario.perRequestHeaders } : {}),
        connections,
        duration,
      });
      raw[scenario.name] = result;
      rows.push(row(scenario.name, result));
    }
  };

  const upstash = await startLocalUpstashProcess('auto');
  try {
    const cached = await startApiWorker(bundleDir, {
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
    });
    try {
      const cookie = `rx_uid=${crypto.randomUUID()}`;
      await measure(cached, [
        { name: '/healthz (floor)', path: '/healthz', headers: {} },
        { name: '/v1/recommendations, warm cache (same shopper)', path: PRODUCT_QUERY, headers: { cookie } },
        {
          name: '/v1/recommendations, cache miss (a returning shopper with nothing cached, new each request)',
          path: PRODUCT_QUERY,
          headers: {},
          perRequestHeaders: anotherReturningShopper,
        },
        {
          name: '/v1/recommendations, first-time shopper (no cookie: page-only answer, isolate memo, no Redis)',
          path: PRODUCT_QUERY,
          headers: {},
        },
        {
          name: '/v1/recommendations, script mode first call (x-rx-uid made on the page + x-rx-uid-new: 1, new each request)',
          path: PRODUCT_QUERY,
          headers: {},
          perRequestHeaders: scriptFirstCall,
        },
        {
          name: '/v1/recommendations, tracking=off (untracked: isolate memo, no Redis)',
          path: `${PRODUCT_QUERY}&tracking=off`,
          headers: {},
        },
      ]);
    } finally {
      await cached.stop();
    }
  } finally {
    await upstash.close();
  }
  const uncached = await startApiWorker(bundleDir, {});
  try {
    await measure(uncached, [
      {
        name: '/v1/recommendations, no cache configured (inference only)',
        path: PRODUCT_QUERY,
        headers: {},
        perRequestHeaders: anotherReturningShopper,
      },
    ]);
  } finally {
    await uncached.stop();
  }

  const load = os.loadavg().map((v) => round(v, 2));
  return {
    title: `API throughput under wrangler dev (${connections} connections, ${duration} s each)`,
    columns: ['scenario', 'rps', 'p50_ms', 'p99_ms', 'requests', 'non2xx', 'errors'],
    rows,
    notes: [
      `Cache: local Upstash-compatible server (${upstash.backend}); model: 300-item fixture, 3 ONNX graphs.`,
      `Load average at the end: ${load.join(' / ')} on ${os.cpus().length} CPUs (shared machine; autocannon, wrangler, workerd and the cache all on it).`,
      'Local numbers show relative costs; in production the Upstash round trip is a network hop from the edge.',
    ],
    details: { duration, connections, raw, loadAverage: load },
  };
}
