/**
 * Helpers of the events tests (workerd): MongoDB access with the real driver, event builders,
 * polling. Each test tags its events with a fresh `run` id so tests sharing the database never
 * count each other's documents.
 */
import { createExecutionContext, createMessageBatch, env } from 'cloudflare:test';
import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { inject } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import type { WriteRequest, WriteResult } from '../../worker/src/consumer/event-writer';
import type { EventWriter } from '../../worker/src/consumer/event-writer-object';
import type { Env } from '../../worker/src/env';
import worker from '../../worker/src/index';
import { waitFor } from '../support/wait-for';

/** The worker's env (bindings from wrangler.toml + the test config), with overrides. */
export function workerEnv(overrides: Partial<Env> = {}): Env {
  return { ...env, ...overrides } as Env;
}

/**
 * Runs `work` with a client opened for it (workerd ties sockets to the test that opened them), on the
 * database the worker writes into (`mongoDb`: `rx`, or this run's own one on a real MongoDB).
 */
export async function withDb<T>(work: (db: Db) => Promise<T>, database = inject('mongoDb')): Promise<T> {
  // Cast: MongoClientOptions extends Node TLS types the worker's type set lacks (see mongo-client.ts).
  const options: Partial<MongoClientOptions> = { serverSelectionTimeoutMS: 10_000 };
  const client = new MongoClient(inject('mongoUri'), options as MongoClientOptions);
  try {
    return await work(client.db(database));
  } finally {
    await client.close();
  }
}

/** Documents of one test run in `events`. */
export function countRun(run: string, database = inject('mongoDb')): Promise<number> {
  return withDb((db) => db.collection('events').countDocuments({ 'properties.run': run }), database);
}

/** A valid Product Viewed event of a test run. */
export function viewEvent(run: string, index: number, overrides: Record<string, unknown> = {}) {
  return {
    type: 'track',
    event: 'Product Viewed',
    messageId: `${run}-${index}`,
    anonymousId: `anon-${run}-${index % 7}`,
    timestamp: new Date(Date.UTC(2024, 4, 1, 12, 0, index % 60)).toISOString(),
    properties: { product_id: `P${index % 300}`, price: 2.55, currency: 'GBP', run },
    ...overrides,
  };
}

/** Enriched events as the producer would queue them (one per message; the consumer takes both forms). */
export function storedEvents(run: string, count: number): StoredEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    ...viewEvent(run, i),
    type: 'track' as const,
    messageId: `${run}-${i}`,
    timestamp: new Date(Date.UTC(2024, 4, 1, 12, 0, i % 60)).toISOString(),
    receivedAt: new Date().toISOString(),
    site: 'test',
    bucket: 'treatment' as const,
    model_version: null,
  }));
}

/** A queue batch of `bodies`, message ids `${prefix}-${index}`. */
export function batchOf(bodies: unknown[], prefix: string = crypto.randomUUID()) {
  return createMessageBatch(
    'rx-events',
    bodies.map((body, i) => ({ id: `${prefix}-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
}

/** `/healthz` of the worker with `overrides`: its `mongodb` component, and the whole text (to check for secrets). */
export async function mongodbHealth(overrides: Partial<Env> = {}) {
  const response = await worker.fetch(
    new Request('http://worker.test/healthz'),
    workerEnv(overrides),
    createExecutionContext(),
  );
  const text = await response.text();
  const report = JSON.parse(text) as { components: Record<string, { status: string; detail?: string }> };
  return { text, mongodb: report.components.mongodb };
}

export { waitFor };

/** An `EVENTS` binding that refuses every send, as Queues does in an outage. */
export function refusingQueue(): Queue<unknown> {
  return {
    send: () => Promise.reject(new Error('Queue unavailable')),
    sendBatch: () => Promise.reject(new Error('Queue unavailable')),
  } as unknown as Queue<unknown>;
}

/** Waits (up to `timeoutMs`) until the run has exactly `count` events in MongoDB; returns the last count. */
export function waitForRunCount(run: string, count: number, timeoutMs = 20_000): Promise<number> {
  return waitFor(
    () => countRun(run),
    (n) => n === count,
    timeoutMs,
  );
}

/**
 * Simulates a MongoDB outage on the local server (unavailable with a real MongoDB: '' URL): `pause`
 * is down (connections refused), `stall` is hung (connections accepted, nothing answered), `resume`
 * ends either (a stall's held requests are then answered).
 */
export async function mongoOutage(action: 'pause' | 'stall' | 'resume'): Promise<void> {
  const response = await fetch(`${inject('mongoControlUrl')}/${action}`, { method: 'POST' });
  if (!response.ok) throw new Error(`mongo ${action} failed: ${response.status}`);
}

export const hasMongoControl = () => inject('mongoControlUrl') !== '';

export function runId(): string {
  return crypto.randomUUID().slice(0, 8);
}

/**
 * The real EventWriter object `name` (its storage, its status), behind a stub whose `write` is the
 * test's own; `env` asks the stub, with no reuse of a health probe's answer.
 */
export function writerWith(
  name: string,
  write: (request: WriteRequest) => Promise<WriteResult>,
  base: Env = workerEnv(),
) {
  const namespace = base.EVENT_WRITER;
  if (!namespace) throw new Error('the worker project binds EVENT_WRITER (wrangler.toml)');
  const real = namespace.get(namespace.idFromName(name));
  const stub = {
    write,
    noteCallFailure: (detail: string) => real.noteCallFailure(detail),
    noteDeadLetters: (...args: Parameters<EventWriter['noteDeadLetters']>) => real.noteDeadLetters(...args),
    noteRedisWrite: () => Promise.resolve(),
    status: () => real.status(),
  };
  const asking = { idFromName: () => ({}), get: () => stub } as unknown as Env['EVENT_WRITER'];
  return { real, env: { ...base, EVENT_WRITER: asking, HEALTH_PROBE_CACHE_SECONDS: '0' } as Env };
}
