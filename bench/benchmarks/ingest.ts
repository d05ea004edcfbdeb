/**
 * `npm run bench -- ingest [--events N] [--batch B] [--concurrency C] [--mongo-tls] [--upstash]`: events per second
 * from HTTP intake to documents in MongoDB. The worker (intake, real local queue, consumer, EventWriter) runs
 * in workerd under `wrangler dev --local`; MongoDB is the local MongoDB-compatible server, fresh for
 * the run. Measures intake latency per request (p50/p99) and the time until the last document is in
 * MongoDB, counts loss and duplicates, and reports where the consumer's time went (from the local
 * queue's per-batch log lines) and how many messages had to be retried. `--mongo-tls`: MongoDB speaks
 * TLS only, as Atlas does, with a certificate of the tests' CA (test/fixtures/tls), which workerd is
 * told to trust; results in bench/results/ingest-tls.json. `--upstash`: the consumer also writes to
 * Redis as in production (shoppers' recent activity and the live experiment counters), to the local
 * Upstash-compatible server on redis-server; results in bench/results/ingest-upstash.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from '@upstash/redis';
import { MongoClient } from 'mongodb';
import { freePort } from '../../scripts/dev/ports';
import { startWranglerDev } from '../../scripts/dev/wrangler-dev';
import { startLocalMongo } from '../../scripts/local-mongo/index';
import { TEST_CA_FILE, testTlsCredentials, trustTestCa } from '../../test/support/trust-test-ca';
import {
  assertLiveCounted,
  benchOrders,
  isBenchOrder,
  type LiveCounts,
  waitForLiveCounts,
} from '../support/live-counts';
import { startLocalUpstashProcess } from '../support/local-upstash-process';
import { commandsSince, redisCommandCalls } from '../support/redis-commands';
import { percentile, round } from '../support/stats';
import { waitForStoredCount } from '../support/stored-count';
import type { BenchResult } from '../types';

/** What the local queue logs per delivered batch: `QUEUE rx-events 100/100 (15ms)`. */
const BATCH_LINE = /QUEUE rx-events (\d+)\/(\d+) \((\d+)ms\)/;

interface ConsumerBatch {
  acked: number;
  size: number;
  ms: number;
  at: number;
}

export default async function ingest(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '20000' },
      batch: { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '8' },
      'mongo-tls': { type: 'boolean', default: false },
      upstash: { type: 'boolean', default: false },
    },
  });
  const tls = values['mongo-tls'];
  if (tls && values.upstash) throw new Error('--mongo-tls and --upstash are separate runs: give one');
  const total = Number(values.events);
  const perRequest = Number(values.batch);
  const concurrency = Number(values.concurrency);
  const run = crypto.randomUUID().slice(0, 8);
  const runStarted = new Date();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-ingest-'));
  const mongo = await startLocalMongo({
    dataDir: path.join(dir, 'mongo'),
    tls: tls ? testTlsCredentials('localhost') : undefined,
  });
  // wrangler hands the CAs of NODE_EXTRA_CA_CERTS to workerd (trust-test-ca.ts says why and keeps yours).
  if (tls) trustTestCa();
  const upstash = values.upstash ? await startLocalUpstashProcess('redis-server') : undefined;
  const redisVars: Record<string, string> = upstash
    ? {
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
        USER_HASH_KEY: 'bench-user-hash-key-0123456789abcdef',
      }
    : {};
  const batches: ConsumerBatch[] = [];
  let retryLines = 0;
  const worker = await startWranglerDev({
    host: '127.0.0.1',
    port: await freePort('127.0.0.1'),
    vars: { MONGODB_URI: mongo.uri, SITE_ID: 'bench', LOG_LEVEL: 'warn', ...redisVars },
    runDir: path.join(dir, 'run'),
    persistTo: path.join(dir, 'wrangler'),
    // `info` so the local queue reports each batch it delivers (one line per batch and per request).
    logLevel: 'info',
    onOutput: (line) => {
      const match = BATCH_LINE.exec(line);
      if (match)
        batches.push({
          acked: Number(match[1]),
          size: Number(match[2]),
          ms: Number(match[3]),
          at: performance.now(),
        });
      else if (line.includes('"event_retry"')) retryLines++;
    },
  });
  const client = new MongoClient(
    tls ? `${mongo.uri}&tlsCAFile=${encodeURIComponent(TEST_CA_FILE)}` : mongo.uri,
  );
  try {
    const events = client.db('rx').collection('events');
    const commandsBefore = upstash ? await redisCommandCalls(upstash) : undefined;
    const latencies: number[] = [];
    const requests = Math.ceil(total / perRequest);
    let next = 0;
    let accepted = 0;
    const started = performance.now();
    const sender = async () => {
      while (next < requests) {
        const index = next++;
        const batch = Array.from({ length: Math.min(perRequest, total - index * perRequest) }, (_, i) => {
          const n = index * perRequest + i;
          // 2 % orders, 10 % cart adds, the rest views, by 500 browsers (ids as the worker issues them,
          // so that the consumer records their activity when it writes to Redis).
          const order = isBenchOrder(n);
          return {
            type: 'track',
            event: order ? 'Order Completed' : n % 10 === 0 ? 'Product Added' : 'Product Viewed',
            messageId: `${run}-${n}`,
            anonymousId: `00000000-0000-4000-8000-${String(n % 500).padStart(12, '0')}`,
            // `seq` is the bench's own id of the event (see the duplicates column below).
            properties: {
              product_id: `P${n % 300}`,
              price: 2.55,
              currency: 'GBP',
              ...(order ? { order_id: `${run}-order-${n}`, revenue: 2.55 } : {}),
              run,
              seq: n,
            },
          };
        });
        const t0 = performance.now();
        const response = await fetch(`${worker.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        const body = (await response.json()) as { accepted?: number };
        latencies.push(performance.now() - t0);
        if (response.status !== 202) throw new Error(`intake answered ${response.status}`);
        accepted += body.accepted ?? 0;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
    const sentMs = performance.now() - started;

    await waitForStoredCount(events, total, 300_000);
    const storedMs = performance.now() - started;
    const ofRun = await events.countDocuments({ 'properties.run': run });
    // By `properties.seq`, not `_id`: `_id` is the event's messageId, so two documents can never share
    // one; an event stored twice could only be under a second messageId (e.g. one the worker made up),
    // which the bench's own sequence number still tells apart.
    const distinct = (await events.distinct('properties.seq', { 'properties.run': run })).length;
    // A broken pipeline is a failed run, not a slow one: its events/s would be the 300 s wait's.
    if (accepted !== total || distinct !== total || ofRun !== distinct) {
      throw new Error(
        `ingest lost or duplicated events: ${total} sent, ${accepted} accepted, ${ofRun} stored, ${distinct} distinct`,
      );
    }
    if (batches.length === 0) {
      throw new Error(
        "no consumer batch was seen in wrangler's log (its line format changed?): batch times unknown",
      );
    }

    const expectedLive = { events: total, orders: benchOrders(total) };
    const live = upstash ? await liveCounted(upstash, expectedLive, runStarted) : undefined;
    // Reported as the events and orders sent, counted exactly: a shortfall or a double count fails the run.
    if (live) assertLiveCounted(live, expectedLive);
    const commands =
      upstash && commandsBefore
        ? commandsSince(commandsBefore, await redisCommandCalls(upstash), ['hgetall'])
        : undefined;

    const dispatchMs = batches.map((b) => b.ms);
    const busyMs = dispatchMs.reduce((sum, ms) => sum + ms, 0);
    // From the first batch's start (its line comes when it ends) to the last one's end.
    const firstStart = (batches[0]?.at ?? started) - (batches[0]?.ms ?? 0);
    const windowMs = (batches.at(-1)?.at ?? started) - firstStart;
    const retried = batches.reduce((sum, b) => sum + (b.size - b.acked), 0);
    return {
      variant: tls ? 'tls' : upstash ? 'upstash' : undefined,
      title: `Ingest: HTTP intake → queue → consumer → MongoDB${tls ? ' over TLS' : ''}${upstash ? ' and Upstash Redis (activity, live counters)' : ''} (${total} events, ${perRequest}/request, ${concurrency} senders)`,
      columns: [
        'events sent',
        'accepted',
        'stored',
        'lost',
        'duplicates',
        'intake events/s',
        'end-to-end events/s',
        'intake p50 ms',
        'intake p99 ms',
        'queue messages',
        'consumer batches',
        'batch p50 ms',
        'batch p99 ms',
        'consumer busy %',
        'retried messages',
        ...(live ? ['live events counted', 'live orders counted', 'Redis commands per 1,000 events'] : []),
      ],
      rows: [
        {
          'events sent': total,
          accepted,
          stored: ofRun,
          lost: total - distinct,
          duplicates: ofRun - distinct,
          'intake events/s': round(accepted / (sentMs / 1000), 0),
          'end-to-end events/s': round(ofRun / (storedMs / 1000), 0),
          'intake p50 ms': round(percentile(latencies, 50), 1),
          'intake p99 ms': round(percentile(latencies, 99), 1),
          'queue messages': batches.reduce((sum, b) => sum + b.size, 0),
          'consumer batches': batches.length,
          'batch p50 ms': percentile(dispatchMs, 50),
          'batch p99 ms': percentile(dispatchMs, 99),
          'consumer busy %': windowMs > 0 ? round((100 * busyMs) / windowMs, 0) : 0,
          'retried messages': retried,
          ...(live
            ? {
                'live events counted': live.events,
                'live orders counted': live.orders,
                'Redis commands per 1,000 events': commands ? round((1000 * commands.total) / total, 0) : '-',
              }
            : {}),
        },
      ],
      notes: [
        'lost: sent events (by the sequence number each carries in properties.seq) not in MongoDB; duplicates: documents beyond one per sequence number. MongoDB keys events by messageId (_id), so a duplicate can only show up here if an event is stored under a messageId other than the one sent.',
        'End-to-end: from the first request to the last document in MongoDB. The local queue (wrangler dev --local) delivers one batch of up to 100 at a time; Cloudflare runs up to max_concurrency consumer invocations at once (10 in wrangler.toml), so in production the consumer scales out and this single-lane figure is a floor.',
        `Events: 78 % Product Viewed, 10 % Product Added, 2 % Order Completed, from 500 browsers. ${upstash ? `The consumer also writes each batch's activity and live counters to the local Upstash-compatible server (${upstash.backend}), as in production.` : 'No Upstash: the consumer writes MongoDB only (--upstash adds its Redis writes).'}`,
        'batch ms: one consumer invocation (validate, EventWriter Durable Object round trip, insertMany, acks; with --upstash, the Redis writes too) as the local queue timed it; consumer busy %: their sum over the span from the first to the last batch. Low busy % means the consumer waited for input: the intake side (and everything else sharing the CPUs) is the limit.',
        ...(live
          ? [
              "live events/orders counted: the live experiment counters' totals for the run's day (GET /admin/live reads them), read from Redis once MongoDB held every event, until they reach the events sent and the orders among them and stay there for 3 s; anything but exactly those counts fails the run.",
              `Redis commands: what redis-server executed for the consumer during the run (INFO commandstats, before and after; the bench's own reads left out), which is what Upstash bills: ${
                commands
                  ? Object.entries(commands.byCommand)
                      .map(([name, calls]) => `${name} ${calls}`)
                      .join(', ')
                  : 'not read'
              }.`,
            ]
          : []),
        'queue messages: messages the consumer was handed, retries included; the intake packs up to 100 events into one (worker/src/events/event-pack.ts).',
        `retried messages: deliveries the consumer asked to retry (${retryLines} retry log lines); each costs at least the 2 s back-off.`,
        `Goal: >= 2,000 events/s sustained with zero loss and zero duplicates. Machine: ${os.cpus().length} CPUs, load average ${os
          .loadavg()
          .map((load) => load.toFixed(1))
          .join(' / ')} at the end; wrangler, workerd, the local MongoDB server and the sender all share it.`,
      ],
      details: {
        total,
        perRequest,
        concurrency,
        sentMs,
        storedMs,
        stored: ofRun,
        distinctSequenceNumbers: distinct,
        requests: latencies.length,
        redisCommands: commands,
        consumer: {
          batches: batches.length,
          busyMs,
          windowMs,
          meanBatchSize: batches.length
            ? round(batches.reduce((s, b) => s + b.size, 0) / batches.length, 1)
            : 0,
        },
      },
    };
  } finally {
    await client.close();
    await worker.stop();
    await mongo.close();
    await upstash?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The live counters' events and orders in the bench site's day hashes from `since` (the run's start)
 * to today (UTC; two days for a run over midnight), once they reach the expected counts and stop
 * changing (the consumer writes them after MongoDB), pass them, or after 30 s.
 */
async function liveCounted(
  upstash: { url: string; token: string },
  expected: LiveCounts,
  since: Date,
): Promise<LiveCounts> {
  const redis = new Redis({ url: upstash.url, token: upstash.token, automaticDeserialization: false });
  const day = (date: Date) => date.toISOString().slice(0, 10);
  const keys = [...new Set([day(since), day(new Date())])].map((d) => `rx:bench:live:${d}`);
  const read = async () => {
    // Without deserialization the client hands HGETALL back as [field, value, ...].
    const flat = (
      await Promise.all(keys.map(async (key) => ((await redis.hgetall(key)) ?? []) as unknown as string[]))
    ).flat();
    const sum = (counter: string) => {
      let total = 0;
      for (let i = 0; i + 1 < flat.length; i += 2)
        if (String(flat[i]).endsWith(`|${counter}`)) total += Number(flat[i + 1]);
      return total;
    };
    return { events: sum('events'), orders: sum('orders') };
  };
  // Settled over 3 s: longer than the queue's 2 s retry back-off, so a redelivery counting again shows.
  return waitForLiveCounts(read, expected, { timeoutMs: 30_000, pollMs: 250, settleMs: 3_000 });
}
