/**
 * A MongoDB that accepts connections but never answers (a hung server, a black-holed network): no
 * error and no closed socket ever comes, so only the consumer's write deadline
 * (`MONGODB_WRITE_DEADLINE_MS`, worker/src/consumer/store.ts and event-writer-object.ts) turns the
 * batch into a retry. The local server's stall mode (scripts/local-mongo: accepts and reads, answers
 * nothing until resumed) makes one; the deadline is shortened so the test need not wait 30 s.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { componentHealth } from '../../worker/src/health';
import worker from '../../worker/src/index';
import {
  countRun,
  hasMongoControl,
  mongoOutage,
  runId,
  viewEvent,
  withDb,
  workerEnv,
} from './events-support';

const DEADLINE_MS = 1_500;

function storedEvents(run: string, count: number): StoredEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    ...viewEvent(run, i),
    type: 'track' as const,
    messageId: `${run}-${i}`,
    timestamp: new Date(Date.UTC(2024, 4, 1, 12, 0, i)).toISOString(),
    receivedAt: new Date().toISOString(),
    site: 'test',
    bucket: 'treatment' as const,
    model_version: null,
  }));
}

async function deliver(events: StoredEvent[], prefix: string, writer: 'object' | 'per-batch client') {
  const batch = createMessageBatch(
    'rx-events',
    events.map((body, i) => ({ id: `${prefix}-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const env = workerEnv({
    MONGODB_WRITE_DEADLINE_MS: String(DEADLINE_MS),
    ...(writer === 'per-batch client' ? { EVENT_WRITER: undefined } : {}),
  });
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

describe.skipIf(!hasMongoControl())('MongoDB accepts connections but never answers', () => {
  it.each(['object', 'per-batch client'] as const)(
    'through the %s: the batch is retried once the write deadline passes, none acked, and stored once MongoDB answers again',
    async (writer) => {
      const run = runId();
      // The writer object's client connects first (a hung server behind a connection already open);
      // the per-batch client meets the stall at its handshake.
      const warm = await deliver(storedEvents(`${run}w`, 3), `stall-warm-${run}`, writer);
      expect(warm.explicitAcks).toHaveLength(3);

      const events = storedEvents(run, 12);
      await mongoOutage('stall');
      let stalled: Awaited<ReturnType<typeof deliver>>;
      try {
        stalled = await deliver(events, `stall-${run}`, writer);
      } finally {
        await mongoOutage('resume');
      }
      // Every message retried, none acked, and for the write deadline itself: the health detail names
      // it (1,500 ms), not the 5 s server-selection timeout or the 6.5 s bound on the call to the writer
      // object, which would end the wait were the deadline not applied. No wall-clock check: a loaded
      // machine may take longer, and the test's own timeout catches a batch that never ends.
      expect(stalled.explicitAcks).toEqual([]);
      expect(stalled.retryMessages.map((retry: { msgId: string }) => retry.msgId).sort()).toEqual(
        events.map((_, i) => `stall-${run}-${i}`).sort(),
      );
      expect(componentHealth('mongodb', true)).toMatchObject({ status: 'degraded' });
      expect(componentHealth('mongodb', true).detail).toContain(`took longer than ${DEADLINE_MS} ms`);

      // The redelivery after the stall stores every event, each once (the abandoned write may land
      // too once the server answers again: duplicates count as stored).
      const back = await deliver(events, `stall-${run}`, writer);
      expect(back.explicitAcks).toHaveLength(12);
      expect(back.retryMessages).toEqual([]);
      expect(await countRun(run)).toBe(12);
      const ids = await withDb((db) => db.collection('events').distinct('_id', { 'properties.run': run }));
      expect(ids.sort()).toEqual(events.map((event) => event.messageId).sort());
    },
    30_000,
  );
});
