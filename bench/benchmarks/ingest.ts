/**
 * `npm run bench -- ingest [--events N] [--batch B] [--concurrency C]`: events per second from HTTP
 * intake to documents in MongoDB. The worker (intake, real local queue, consumer, EventWriter) runs
 * in workerd under `wrangler dev --local`; MongoDB is the local MongoDB-compatible server. Measures
 * intake latency per request (p50/p99) and the time until the last document is in MongoDB, then
 * counts loss and duplicates.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { startLocalMongo } from '../../scripts/local-mongo/index';
import { runWrangler } from '../support/run-wrangler';
import { percentile, round } from '../support/stats';
import type { BenchResult } from '../types';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default async function ingest(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '20000' },
      batch: { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '8' },
    },
  });
  const total = Number(values.events);
  const perRequest = Number(values.batch);
  const concurrency = Number(values.concurrency);
  const run = crypto.randomUUID().slice(0, 8);

  const mongo = await startLocalMongo();
  const worker = await runWrangler({
    config: path.join(root, 'wrangler.toml'),
    vars: { MONGODB_URI: mongo.uri, SITE_ID: 'bench', LOG_LEVEL: 'warn' },
    readyPath: '/healthz',
  });
  const client = new MongoClient(mongo.uri);
  try {
    const count = () => client.db('rx').collection('events').countDocuments({ 'properties.run': run });
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
          return {
            type: 'track',
            event: n % 10 === 0 ? 'Product Added' : 'Product Viewed',
            messageId: `${run}-${n}`,
            anonymousId: `bench-${n % 500}`,
            properties: { product_id: `P${n % 300}`, price: 2.55, currency: 'GBP', run },
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

    let stored = await count();
    const deadline = Date.now() + 300_000;
    while (stored < total && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      stored = await count();
    }
    const storedMs = performance.now() - started;
    const distinct = (await client.db('rx').collection('events').distinct('_id', { 'properties.run': run }))
      .length;

    const eventsPerSecond = round(stored / (storedMs / 1000), 0);
    return {
      title: `Ingest: HTTP intake → queue → consumer → MongoDB (${total} events, ${perRequest}/request, ${concurrency} senders)`,
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
      ],
      rows: [
        {
          'events sent': total,
          accepted,
          stored,
          lost: total - distinct,
          duplicates: stored - distinct,
          'intake events/s': round(accepted / (sentMs / 1000), 0),
          'end-to-end events/s': eventsPerSecond,
          'intake p50 ms': round(percentile(latencies, 50), 1),
          'intake p99 ms': round(percentile(latencies, 99), 1),
        },
      ],
      notes: [
        'End-to-end: from the first request to the last document counted in MongoDB (wrangler dev --local queue: batches of up to 100, 2 s max wait).',
        `Goal: >= 2,000 events/s sustained with zero loss and zero duplicates. Shared 2-CPU machine; wrangler, workerd, the local MongoDB server and the sender all on it.`,
      ],
      details: { total, perRequest, concurrency, sentMs, storedMs, latenciesMs: { count: latencies.length } },
    };
  } finally {
    await client.close();
    await worker.stop();
    await mongo.close();
  }
}
