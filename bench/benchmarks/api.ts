/**
 * `npm run bench -- api [--duration 10] [--connections 10]`: `/v1/recommendations` requests per second
 * and latency under `wrangler dev --local`, with the per-user cache in the local Upstash-compatible
 * server (real redis-server behind it), in one run:
 * - `/healthz`: the floor (routing, JSON, no model, no cache);
 * - warm cache: one shopper (fixed `rx_uid`) asking for the same product page: one Redis round trip, hit;
 * - cache bypassed: no cookie, so every request is a new shopper: lookup miss, ONNX inference, cache write.
 * The model is a 300-item fixture bundle published through `npm run models:publish`'s code path.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { publishBundle } from '../../scripts/models-publish';
import { buildFixtureBundle, writeFixtureBundle } from '../../test/support/fixture-bundle';
import { startLocalUpstashProcess } from '../../test/support/local-upstash-process';
import { runLoad } from '../support/load';
import { runWrangler } from '../support/run-wrangler';
import { round } from '../support/stats';
import type { BenchResult } from '../types';

const here = path.dirname(fileURLToPath(import.meta.url));

export default async function api(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: { duration: { type: 'string' }, connections: { type: 'string' } },
  });
  const duration = Number(values.duration ?? 10);
  const connections = Number(values.connections ?? 10);
  const adminToken = `bench-${crypto.randomUUID()}`;
  const upstash = await startLocalUpstashProcess('auto');
  const worker = await runWrangler({
    config: path.join(here, '../api-worker/wrangler.toml'),
    readyPath: '/healthz',
    vars: {
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      ADMIN_TOKEN: adminToken,
      PRICE_SIGNING_KEY: `bench-${crypto.randomUUID()}`,
    },
  });
  try {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-bundle-'));
    await writeFixtureBundle(buildFixtureBundle({ version: 'bench-300', items: 300, k: 50 }), dir);
    await publishBundle(dir, { url: worker.url, adminToken });
    const product = `${worker.url}/v1/recommendations?placement=product&product_id=P10042&limit=8`;
    const cookie = `rx_uid=${crypto.randomUUID()}`;
    const check = await fetch(product, { headers: { cookie } });
    const sample = (await check.json()) as { model_version: string; source: string; items: unknown[] };
    if (sample.model_version !== 'bench-300' || sample.items.length !== 8) {
      throw new Error(`unexpected answer before the run: ${JSON.stringify(sample).slice(0, 300)}`);
    }
    const scenarios: Array<{ name: string; url: string; headers: Record<string, string> }> = [
      { name: '/healthz (floor)', url: `${worker.url}/healthz`, headers: {} },
      { name: '/v1/recommendations, warm cache (same shopper)', url: product, headers: { cookie } },
      { name: '/v1/recommendations, cache bypassed (new shopper each request)', url: product, headers: {} },
    ];
    const rows = [];
    const raw: Record<string, unknown> = {};
    for (const scenario of scenarios) {
      const result = await runLoad({ url: scenario.url, headers: scenario.headers, connections, duration });
      raw[scenario.name] = result;
      rows.push({
        scenario: scenario.name,
        rps: round(result.requestsPerSecond, 0),
        p50_ms: result.latencyMs.p50,
        p99_ms: result.latencyMs.p99,
        requests: result.requests,
        non2xx: result.non2xx,
        errors: result.errors,
      });
    }
    const load = os.loadavg().map((v) => round(v, 2));
    return {
      title: `API throughput under wrangler dev (${connections} connections, ${duration} s each)`,
      columns: ['scenario', 'rps', 'p50_ms', 'p99_ms', 'requests', 'non2xx', 'errors'],
      rows,
      notes: [
        `Cache backend: local Upstash-compatible server (${upstash.backend}); model: 300-item fixture, 3 ONNX graphs.`,
        `Load average at the end: ${load.join(' / ')} on ${os.cpus().length} CPUs (shared machine; autocannon, wrangler, workerd and Redis all on it).`,
        'Local numbers show relative costs; edge latency in production adds the network to Upstash.',
      ],
      details: { duration, connections, sample: sample.source, raw, loadAverage: load },
    };
  } finally {
    await worker.stop();
    await upstash.close();
  }
}
