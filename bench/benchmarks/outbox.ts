/**
 * `npm run bench -- outbox [--page-views N] [--batches N] [--batch B] [--concurrency C]`: the durable
 * events outbox through a Queues outage (docs/analytics.md "When the queue refuses events").
 *
 * The product worker runs in workerd under `wrangler dev --local` with a switch that makes its EVENTS
 * queue refuse (bench/outbox-worker/). In one run, for two shapes of intake request (one event, as the
 * plugin sends a page view; B events, as a Segment library flushes):
 * 1. **queue taking events**: the same requests as a baseline (202);
 * 2. **queue refusing**: every request is answered 503 while the outbox holds its events: how many
 *    events per second one outbox instance takes in, and what the sender waits;
 * 3. **recovery**: the queue takes events again and the outbox's next delivery is started at once:
 *    how fast the backlog drains to the queue, and until the last event is in MongoDB; loss and
 *    duplicates over the whole run, any of which fails it (support/outbox-accounting.ts).
 * MongoDB is the local MongoDB-compatible server, fresh for the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Collection, MongoClient } from 'mongodb';
import { freePort } from '../../scripts/dev/ports';
import { startWranglerDev } from '../../scripts/dev/wrangler-dev';
import { startLocalMongo } from '../../scripts/local-mongo/index';
import { assertOutboxAccounting, heldProblem } from '../support/outbox-accounting';
import { percentile, round } from '../support/stats';
import { waitForStoredCount } from '../support/stored-count';
import type { BenchResult } from '../types';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKER_CONFIG = path.join(here, '..', 'outbox-worker', 'wrangler.toml');

interface OutboxStatus {
  waiting: number;
  failedAttempts: number;
  lastError: string | null;
}

interface Phase {
  requests: number;
  events: number;
  seconds: number;
  latencies: number[];
  statuses: Map<number, number>;
}

export default async function outbox(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      'page-views': { type: 'string', default: '3000' },
      batches: { type: 'string', default: '200' },
      batch: { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '8' },
    },
  });
  const pageViews = Number(values['page-views']);
  const batches = Number(values.batches);
  const batchSize = Number(values.batch);
  const concurrency = Number(values.concurrency);
  const run = crypto.randomUUID().slice(0, 8);

  const localQueueLimitHits = new Map<string, number>();
  let currentPhase = 'start';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-outbox-'));
  const mongo = await startLocalMongo({ dataDir: path.join(dir, 'mongo') });
  const worker = await startWranglerDev({
    config: WORKER_CONFIG,
    host: '127.0.0.1',
    port: await freePort('127.0.0.1'),
    vars: { MONGODB_URI: mongo.uri },
    runDir: path.join(dir, 'run'),
    persistTo: path.join(dir, 'wrangler'),
    logLevel: 'warn',
    onOutput: (line) => {
      if (line.includes('QuotaExceededError'))
        localQueueLimitHits.set(currentPhase, (localQueueLimitHits.get(currentPhase) ?? 0) + 1);
    },
  });
  const client = new MongoClient(mongo.uri);
  let nextEvent = 0;

  /** `requests` intake requests of `perRequest` events each, from `concurrency` senders. */
  const send = async (requests: number, perRequest: number, name: string): Promise<Phase> => {
    currentPhase = name;
    const phase: Phase = {
      requests,
      events: requests * perRequest,
      seconds: 0,
      latencies: [],
      statuses: new Map(),
    };
    let next = 0;
    const started = performance.now();
    const sender = async () => {
      while (next < requests) {
        next++;
        const batch = Array.from({ length: perRequest }, () => benchEvent(run, nextEvent++));
        const t0 = performance.now();
        const response = await fetch(`${worker.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        await response.arrayBuffer();
        phase.latencies.push(performance.now() - t0);
        phase.statuses.set(response.status, (phase.statuses.get(response.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
    phase.seconds = (performance.now() - started) / 1000;
    return phase;
  };

  const control = async (pathname: string, method = 'POST') => {
    const response = await fetch(`${worker.url}${pathname}`, { method });
    if (!response.ok) throw new Error(`${pathname} answered ${response.status}: ${await response.text()}`);
    return response.json();
  };
  const status = () => control('/bench/outbox/status', 'GET') as Promise<OutboxStatus>;

  try {
    const events = client.db('rx').collection('events');
    const rows: Array<Record<string, string | number>> = [];
    const shapes = [
      { name: 'page views (1 event per request)', requests: pageViews, perRequest: 1 },
      { name: `flushes (${batchSize} events per request)`, requests: batches, perRequest: batchSize },
    ];

    // 1. The queue takes events: the baseline. Each shape's events are stored before the next starts:
    // the local queue broker (miniflare) refuses sends once ~10,000 messages wait in it (it keeps a
    // timer per message and workerd allows 10,000), a local limit Cloudflare Queues does not have.
    for (const shape of shapes) {
      const name = `queue taking events: ${shape.name}`;
      const phase = await send(shape.requests, shape.perRequest, name);
      rows.push(phaseRow(name, phase, 202));
      await waitForCount(events, nextEvent, 300_000);
    }
    const baselineEvents = nextEvent;

    // 2. The outage: every request is refused by the queue and held by the outbox.
    await control('/bench/queue?refuse=1');
    for (const shape of shapes) {
      const name = `queue refusing, outbox holding: ${shape.name}`;
      const phase = await send(shape.requests, shape.perRequest, name);
      rows.push(phaseRow(name, phase, 503));
    }
    const outageEvents = nextEvent - baselineEvents;
    const held = await status();
    // Every 503 above is also the answer to events the outbox refused (full): only its count says they
    // were all held. Failed now, not after recovery waited for events that were never held.
    const notHeld = heldProblem(held.waiting, outageEvents);
    if (notHeld) throw new Error(`${notHeld} (${held.lastError ?? 'no error recorded'})`);

    // 3. Recovery: the queue takes events again; the outbox drains now instead of after its back-off.
    currentPhase = 'recovery';
    await control('/bench/queue?refuse=0');
    const drainStarted = performance.now();
    await control('/bench/outbox/deliver-now');
    let waiting = held.waiting;
    const deadline = Date.now() + 600_000;
    while (waiting > 0 && Date.now() < deadline) {
      await sleep(50);
      waiting = (await status()).waiting;
    }
    const drainedSeconds = (performance.now() - drainStarted) / 1000;
    await waitForCount(events, nextEvent, 600_000);
    const storedSeconds = (performance.now() - drainStarted) / 1000;

    const stored = await events.countDocuments({ 'properties.run': run });
    // By the bench's own `properties.seq`, not `_id` (= messageId, so never shared by two documents):
    // an event stored twice could only be under a second messageId, which `seq` still tells apart.
    const distinct = (await events.distinct('properties.seq', { 'properties.run': run })).length;
    // The count MongoDB reached above cannot tell: one loss and one duplicate still make the total.
    assertOutboxAccounting({ sent: nextEvent, stored, distinct, outageEvents, heldWaiting: held.waiting });
    const drainRate = round(held.waiting / drainedSeconds, 0);
    const endToEndRate = round(held.waiting / storedSeconds, 0);
    // Two rows, side by side: the drain rate (outbox → queue) and the end-to-end rate (→ MongoDB).
    rows.push(
      {
        phase: 'recovery, drain: outbox → queue',
        requests: '',
        events: held.waiting,
        'events/s': drainRate,
        'p50 ms': '',
        'p99 ms': '',
        answers: `outbox empty after ${round(drainedSeconds, 2)} s`,
      },
      {
        phase: 'recovery, end to end: outbox → queue → consumer → MongoDB',
        requests: '',
        events: held.waiting,
        'events/s': endToEndRate,
        'p50 ms': '',
        'p99 ms': '',
        answers: `all in MongoDB after ${round(storedSeconds, 2)} s`,
      },
    );

    return {
      title: `Events outbox through a Queues outage (${concurrency} senders; wrangler dev --local; fresh local MongoDB)`,
      columns: ['phase', 'requests', 'events', 'events/s', 'p50 ms', 'p99 ms', 'answers'],
      rows,
      notes: [
        `Whole run: ${nextEvent} events sent, ${stored} stored, lost ${nextEvent - distinct}, duplicates ${stored - distinct} (by the sequence number each event carries in properties.seq: MongoDB keys events by messageId, so a duplicate can only show up if one is stored under a messageId other than the one sent; any loss or duplicate fails the run). During the outage the outbox held ${held.waiting} of the ${outageEvents} refused events (fewer fails the run: the intake answers 503 whether the outbox holds or refuses them); ${held.failedAttempts} failed deliveries while the queue refused: ${held.lastError ?? 'none'}.`,
        'events/s while refusing: what one outbox instance (one Durable Object, SQLite) takes in while every intake request also fails its queue send first; the sender gets 503 with Retry-After and the message that the events are held. A production outbox runs on its own machine; here the load generator, wrangler, workerd (intake, outbox and consumer) and the local MongoDB server share the CPUs.',
        'recovery (both rows from the same start): from the first delivery (started at once by the bench; the product waits for the consumer back-off, 2 s doubling) until the outbox is empty, and until the last event is in MongoDB. The outbox sends 500 events per delivery and starts the next at once; a delivery the queue refuses waits its back-off (2-5 s) and is sent again whole, so a local-limit hit below (there: "recovery") makes the drain figure a lower bound.',
        `The local queue broker's own limit (a timer per waiting message, at most 10,000) was hit ${[...localQueueLimitHits.values()].reduce((a, b) => a + b, 0)} time(s) (${JSON.stringify(Object.fromEntries(localQueueLimitHits))}); each hit refuses a send, which the outbox then holds.`,
        `Machine: ${os.cpus().length} CPUs, load average ${os
          .loadavg()
          .map((load) => load.toFixed(1))
          .join(' / ')} at the end.`,
      ],
      details: {
        pageViews,
        batches,
        batchSize,
        concurrency,
        baselineEvents,
        outageEvents,
        held,
        stored,
        distinctSequenceNumbers: distinct,
        recovery: {
          drainedSeconds,
          storedSeconds,
          drainEventsPerSecond: drainRate,
          endToEndEventsPerSecond: endToEndRate,
        },
      },
    };
  } finally {
    await client.close();
    await worker.stop();
    await mongo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchEvent(run: string, n: number) {
  return {
    type: 'track',
    event: 'Product Viewed',
    messageId: `${run}-${n}`,
    anonymousId: `bench-${n % 500}`,
    // `seq`: the bench's own id of the event, for loss and duplicates (see the count after recovery).
    properties: { product_id: `P${n % 300}`, price: 2.55, currency: 'GBP', run, seq: n },
  };
}

function phaseRow(name: string, phase: Phase, expected: number): Record<string, string | number> {
  const answers = [...phase.statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([code, count]) => `${count} × ${code}`)
    .join(', ');
  const unexpected = phase.requests - (phase.statuses.get(expected) ?? 0);
  // Fast wrong answers are not throughput: a phase answered otherwise than it should fails the run.
  if (unexpected > 0)
    throw new Error(`${name}: ${unexpected} of ${phase.requests} answers were not ${expected}: ${answers}`);
  return {
    phase: name,
    requests: phase.requests,
    events: phase.events,
    'events/s': round(phase.events / phase.seconds, 0),
    'p50 ms': round(percentile(phase.latencies, 50), 1),
    'p99 ms': round(percentile(phase.latencies, 99), 1),
    answers,
  };
}

/** Waits until MongoDB holds `count` events; a run that never gets there fails rather than reports. */
async function waitForCount(events: Collection, count: number, timeoutMs: number): Promise<void> {
  const stored = await waitForStoredCount(events, count, timeoutMs);
  if (stored < count) throw new Error(`MongoDB did not reach ${count} events in ${timeoutMs} ms (${stored})`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
