/**
 * The EventWriter Durable Object keeps its MongoDB connections healthy while busy. Regression test
 * for a workerd `node:net` behaviour: a socket timeout armed before the connection opened (the
 * driver's `connectTimeoutMS`) is not cleared by `setTimeout(0)`, so it fired on a busy, healthy
 * connection a few seconds after it opened ("connection N timed out") and whole batches were
 * retried. The consumer's client sets no socket timeouts (worker/src/consumer/mongo-client.ts).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { createMongoClient } from '../../worker/src/consumer/mongo-client';
import type { Env } from '../../worker/src/env';
import { countRun, runId, viewEvent, withDb } from './events-support';

/** Longer than the connect timeout the driver would otherwise arm (5 s in the old settings). */
const BUSY_FOR_MS = 7_000;

function batch(run: string, from: number, count: number): StoredEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    ...viewEvent(run, from + i),
    type: 'track' as const,
    receivedAt: new Date().toISOString(),
    site: 'test',
    bucket: 'treatment' as const,
    model_version: null,
  }));
}

describe('EventWriter connection under continuous load', () => {
  it(`writes four batches at a time for ${BUSY_FOR_MS / 1000} s without a single retry`, {
    timeout: 60_000,
  }, async () => {
    const namespace = (env as unknown as Env).EVENT_WRITER;
    if (!namespace) throw new Error('EVENT_WRITER binding missing from wrangler.toml');
    const writer = namespace.get(namespace.idFromName(`connection-test-${runId()}`));
    const run = runId();
    const retries: string[] = [];
    let written = 0;
    const until = Date.now() + BUSY_FOR_MS;
    // Several writes in flight at once, as concurrent consumer invocations do: every pooled
    // connection is busy most of the time, so a stray timeout lands on an operation.
    const lane = async () => {
      while (Date.now() < until) {
        const from = written;
        written += 50;
        const result = await writer.write({ events: batch(run, from, 50), rejected: [] });
        for (const outcome of result.events)
          if (outcome.kind !== 'stored') retries.push(JSON.stringify(outcome));
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    expect(retries.slice(0, 3)).toEqual([]);
    expect(await countRun(run)).toBe(written);
  });
});

describe('EventWriter with a document the driver cannot encode', () => {
  it('records that one as rejected and stores the rest of its batch, instead of retrying them all', async () => {
    const namespace = (env as unknown as Env).EVENT_WRITER;
    if (!namespace) throw new Error('EVENT_WRITER binding missing from wrangler.toml');
    const writer = namespace.get(namespace.idFromName(`encode-test-${runId()}`));
    const run = runId();
    const events = batch(run, 0, 3);
    // What validation refuses at the intake; an older deployment or a replayed dead letter may
    // still carry it. BSON cannot write a NUL inside a field name.
    const bad = events[1];
    if (!bad) throw new Error('no event');
    bad.properties = { ...bad.properties, 'a\u0000b': 1 };
    const result = await writer.write({ events, rejected: [] });
    expect(result.events.map((outcome) => outcome.kind)).toEqual(['stored', 'invalid', 'stored']);
    expect(await countRun(run)).toBe(2);
    const record = await withDb((db) =>
      db.collection<{ _id: string; problems: { reason: string }[] }>('rejected_events').findOne({
        _id: `mongo:${bad.messageId}`,
      }),
    );
    expect(record?.problems[0]?.reason).toContain('cannot be encoded as BSON');
  });
});

describe('the consumer client', () => {
  // The local server sends no topologyVersion, so the driver polls it whatever the setting; against
  // Atlas the default ('auto') would open a streaming monitor and a pinger beside every pool.
  it('monitors the server by polling, never by the streaming protocol', async () => {
    const client = await createMongoClient('mongodb://127.0.0.1:9/rx');
    try {
      expect(client.options.serverMonitoringMode).toBe('poll');
    } finally {
      await client.close();
    }
  });
});
