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
 * 300-item fixture bundle published through `npm run models:publish`'s code path. Each row also counts
 * the Redis commands its requests cost (what Upstash bills; support/redis-commands.ts).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ACTIVITY_MAX } from '../../contracts/activity';
import { publishBundle } from '../../scripts/models-publish';
import { buildFixtureBundle, writeFixtureBundle } from '../../test/support/fixture-bundle';
import {
  type Answer,
  answerCheck,
  assertRowChecked,
  cachedWorkerScenarios,
  ITEMS,
  mismatch,
  PRODUCT_QUERY,
  type Scenario,
  uncachedWorkerScenarios,
} from '../support/api-scenarios';
import { assertAllSucceeded, type LoadResult, runLoad } from '../support/load';
import { type LocalUpstashProcess, startLocalUpstashProcess } from '../support/local-upstash-process';
import { commandsSince, redisCommandCalls } from '../support/redis-commands';
import { keyMemoryBytes, keysMatching, usedMemoryBytes } from '../support/redis-memory';
import { type RunningWorker, runWrangler } from '../support/run-wrangler';
import { type SeededShoppers, seedFullHistories } from '../support/seed-activity';
import { round } from '../support/stats';
import type { BenchResult } from '../types';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Discarded load before each measured run (JIT, connections, model sessions, the warm row's entry). */
const WARMUP_SECONDS = 2;
/** Requests checked before each measured run, to be sure it measures what its name says. */
const PROBES = 3;
/**
 * Wait before and after a row's measured run before reading redis-server's command counts, so that the
 * work requests leave to `waitUntil` (cache writes) lands in the run it belongs to.
 */
const SETTLE_MS = 500;
/**
 * Shoppers seeded with a full activity list for the full-history miss row, each asked once: more than
 * its warm-up, probes and measured run use at this machine's miss rates (500-1,000 requests a second),
 * so that no answer of the row is a hit (a pool used up would fail the run on its unexpected answers).
 */
const FULL_HISTORY_SHOPPERS = 15_000;
/** The site of bench/api-worker/wrangler.toml, under whose keys the shoppers are seeded. */
const BENCH_SITE = 'bench';

/** Starts the API worker, publishes the fixture bundle and checks one answer before measuring. */
async function startApiWorker(bundleDir: string, vars: Record<string, string>): Promise<RunningWorker> {
  const adminToken = `bench-${crypto.randomUUID()}`;
  const worker = await runWrangler({
    config: path.join(here, '../api-worker/wrangler.toml'),
    readyPath: '/healthz',
    vars: {
      USER_HASH_KEY: `bench-${crypto.randomUUID()}`,
      ...vars,
      ADMIN_TOKEN: adminToken,
      PRICE_SIGNING_KEY: `bench-${crypto.randomUUID()}`,
    },
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

/** A few requests as the scenario sends them, each checked: a warm-cache row that misses would mean nothing. */
async function probe(worker: RunningWorker, scenario: Scenario): Promise<void> {
  for (let i = 0; i < PROBES; i += 1) {
    const headers = { ...scenario.headers, ...scenario.perRequestHeaders?.() };
    const response = await fetch(`${worker.url}${scenario.path}`, { headers });
    const text = await response.text();
    const problem = !response.ok
      ? `status ${response.status}`
      : scenario.expect && mismatch(JSON.parse(text) as Answer, scenario.expect);
    if (problem) throw new Error(`${scenario.name}: ${problem} before the run: ${text.slice(0, 300)}`);
  }
}

function row(name: string, result: LoadResult, redisCommands: number | undefined) {
  return {
    scenario: name,
    rps: round(result.requestsPerSecond, 0),
    // Per request, background work included; '-' where no Redis is configured or its counts are not readable.
    redis_commands_per_request:
      redisCommands === undefined ? '-' : round(redisCommands / Math.max(1, result.requests), 2),
    p50_ms: result.latencyMs.p50,
    p99_ms: result.latencyMs.p99,
    requests: result.requests,
    non2xx: result.non2xx,
    errors: result.errors,
    // Answers in the measured run that were not the row's state (e.g. a miss in the warm-cache row).
    unexpected: result.mismatches,
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
  const redisCommandsByRow: Record<string, Record<string, number>> = {};
  const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const measure = async (worker: RunningWorker, scenarios: Scenario[], redis?: LocalUpstashProcess) => {
    // The in-memory backend keeps no command counts: only a redis-server behind the local server has them.
    const counts = redis?.backend === 'redis-server' ? redis : undefined;
    for (const scenario of scenarios) {
      const load = (seconds: number) =>
        runLoad({
          url: `${worker.url}${scenario.path}`,
          headers: scenario.headers,
          ...(scenario.perRequestHeaders ? { perRequestHeaders: scenario.perRequestHeaders } : {}),
          ...(scenario.expect ? { verifyBody: answerCheck(scenario.expect) } : {}),
          connections,
          duration: seconds,
        });
      await load(WARMUP_SECONDS);
      await probe(worker, scenario);
      await settle();
      const before = counts ? await redisCommandCalls(counts) : undefined;
      const result = await load(duration);
      await settle();
      const commands = counts && before ? commandsSince(before, await redisCommandCalls(counts)) : undefined;
      assertAllSucceeded(scenario.name, result);
      // Past 1 % of answers not the row's, or a Redis command in a row that may cost none, the row
      // would be another's figure: the run fails (api-scenarios.ts).
      assertRowChecked(scenario, result, commands);
      raw[scenario.name] = result;
      if (commands) redisCommandsByRow[scenario.name] = commands.byCommand;
      rows.push(row(scenario.name, result, commands?.total));
    }
  };

  const upstash = await startLocalUpstashProcess('auto');
  let seeded: SeededShoppers | undefined;
  let memory: RedisMemory | undefined;
  try {
    const userHashKey = `bench-${crypto.randomUUID()}`;
    const cached = await startApiWorker(bundleDir, {
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      USER_HASH_KEY: userHashKey,
    });
    try {
      const cookie = `rx_uid=${crypto.randomUUID()}`;
      const usedBeforeSeeding = await usedMemoryBytes(upstash);
      seeded = await seedFullHistories(upstash, {
        site: BENCH_SITE,
        userHashKey,
        count: FULL_HISTORY_SHOPPERS,
        items: 300,
      });
      const ids = seeded.ids;
      let next = 0;
      const nextSeededShopper = () => ids[next++ % ids.length] ?? '';
      const usedAfterSeeding = await usedMemoryBytes(upstash);
      await measure(cached, cachedWorkerScenarios(cookie, nextSeededShopper), upstash);
      memory = await redisMemory(upstash, seeded.ids.length, usedBeforeSeeding, usedAfterSeeding);
    } finally {
      await cached.stop();
    }
  } finally {
    await upstash.close();
  }
  const uncached = await startApiWorker(bundleDir, {});
  try {
    await measure(uncached, uncachedWorkerScenarios());
  } finally {
    await uncached.stop();
  }

  const load = os.loadavg().map((v) => round(v, 2));
  return {
    title: `API throughput under wrangler dev (${connections} connections, ${duration} s each)`,
    columns: [
      'scenario',
      'rps',
      'p50_ms',
      'p99_ms',
      'requests',
      'non2xx',
      'errors',
      'unexpected',
      'redis_commands_per_request',
    ],
    rows,
    notes: [
      `Cache: local Upstash-compatible server (${upstash.backend}); model: 300-item fixture, 3 ONNX graphs.`,
      `Load average at the end: ${load.join(' / ')} on ${os.cpus().length} CPUs (shared machine; autocannon, wrangler, workerd and the cache all on it).`,
      'Local numbers show relative costs; in production the Upstash round trip is a network hop from the edge.',
      `Full-history miss: ${seeded?.ids.length ?? 0} shoppers seeded before the rows with ${ACTIVITY_MAX} activity entries each (views, cart adds, purchases of the fixture's items; ${seeded?.seconds ?? 0} s through @upstash/redis), each asked once; the lookup script returns the list with the miss and the worker parses it and builds the history vector, where the plain miss row's shoppers have none.`,
      memoryNote(memory, upstash.backend),
      `redis_commands_per_request: what redis-server ran during the row's measured run (INFO commandstats before and after, ${SETTLE_MS} ms after its last request so that background cache writes count), divided by its requests. A script counts as its EVALSHA plus each command it runs, as Upstash bills. By command: ${Object.entries(
        redisCommandsByRow,
      )
        .map(
          ([name, byCommand]) =>
            `${name.replace(/^\/v1\/recommendations, /, '').replace(/ \(.*$/, '')}: ${
              Object.entries(byCommand)
                .map(([command, calls]) => `${command} ${calls}`)
                .join(', ') || 'none'
            }`,
        )
        .join('; ')}.`,
      `Each row: ${WARMUP_SECONDS} s of discarded load, then ${PROBES} requests checked (status; cached or not, a model's answer for a miss, ${ITEMS} items), then the measured run, which fails the benchmark on any non-2xx answer, error or timeout. unexpected: answers in the measured run whose cached flag (or, for a miss, model source) was not the row's, counted by autocannon; over 1 % of a row fails the benchmark too, as does an answer without items. The page-only rows (first-time shopper, script mode first call, tracking=off) must answer cached: true (the isolate's memo, after the warm-up) and cost no Redis command at all: one fails the benchmark.`,
    ],
    details: {
      duration,
      connections,
      warmupSeconds: WARMUP_SECONDS,
      probes: PROBES,
      raw,
      redisCommandsByRow,
      redisMemory: memory,
      loadAverage: load,
    },
  };
}

/** Keys whose size is sampled: enough for a stable median, few enough to read in a moment. */
const MEMORY_SAMPLE_KEYS = 200;

/** What the cache's keys cost in Redis memory (what Upstash bills by storage). */
interface RedisMemory {
  /** used_memory's growth over seeding, per seeded shopper: their full activity list, overhead included. */
  perFullHistoryShopperBytes?: number;
  /** MEMORY USAGE of seeded activity lists (ACTIVITY_MAX entries each): median and max of the sample. */
  activityListBytes?: { median: number; max: number; sampled: number };
  /** MEMORY USAGE of the recommendation entries the rows left (one list of ITEMS items each). */
  recommendationEntryBytes?: { median: number; max: number; sampled: number };
}

async function redisMemory(
  upstash: LocalUpstashProcess,
  shoppers: number,
  usedBefore: number | undefined,
  usedAfter: number | undefined,
): Promise<RedisMemory> {
  const sizes = async (pattern: string) => {
    const keys = (await keysMatching(upstash, pattern, MEMORY_SAMPLE_KEYS * 2)).filter(
      (key) => !key.endsWith(':lock'),
    );
    const bytes: number[] = [];
    for (const key of keys.slice(0, MEMORY_SAMPLE_KEYS)) {
      const size = await keyMemoryBytes(upstash, key);
      if (size !== undefined) bytes.push(size);
    }
    if (bytes.length === 0) return undefined;
    bytes.sort((a, b) => a - b);
    return {
      median: bytes[Math.floor(bytes.length / 2)] ?? 0,
      max: bytes[bytes.length - 1] ?? 0,
      sampled: bytes.length,
    };
  };
  return {
    perFullHistoryShopperBytes:
      usedBefore !== undefined && usedAfter !== undefined && shoppers > 0
        ? Math.round((usedAfter - usedBefore) / shoppers)
        : undefined,
    activityListBytes: await sizes(`rx:${BENCH_SITE}:act:*`),
    recommendationEntryBytes: await sizes(`rx:${BENCH_SITE}:rec:*`),
  };
}

function memoryNote(memory: RedisMemory | undefined, backend: string): string {
  const kib = (bytes: number) => `${round(bytes / 1024, 1)} KiB`;
  if (memory?.perFullHistoryShopperBytes === undefined || memory.activityListBytes === undefined) {
    return `Redis memory: not measured (the ${backend} backend answers neither INFO memory nor MEMORY USAGE).`;
  }
  const entries = memory.recommendationEntryBytes;
  return `Redis memory (what Upstash bills by storage): a shopper with a full activity list (${ACTIVITY_MAX} entries) takes ${kib(memory.perFullHistoryShopperBytes)} of used_memory (its growth over seeding, divided by the shoppers seeded); MEMORY USAGE of one such list: median ${kib(memory.activityListBytes.median)}, max ${kib(memory.activityListBytes.max)} (${memory.activityListBytes.sampled} sampled)${
    entries
      ? `; a cached recommendation entry (${ITEMS} items, one per shopper, placement and context): median ${kib(entries.median)}, max ${kib(entries.max)} (${entries.sampled} sampled)`
      : ''
  }.`;
}
