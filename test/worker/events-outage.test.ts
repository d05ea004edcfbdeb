import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { countRun, hasMongoControl, mongoOutage, runId, viewEvent, waitFor, withDb } from './events-support';

const EVENTS = 10_000;
const PER_REQUEST = 100;

/**
 * The whole path under a MongoDB outage: HTTP intake → real local queue → consumer → MongoDB.
 * Counts events in (accepted by the intake) and documents out (in MongoDB, each id once).
 */
describe.skipIf(!hasMongoControl())('MongoDB down while 10,000 events are sent, then back up', () => {
  it('stores all 10,000, each exactly once', { timeout: 300_000 }, async () => {
    const run = runId();
    let accepted = 0;
    await mongoOutage('pause');
    try {
      for (let start = 0; start < EVENTS; start += PER_REQUEST * 10) {
        const requests = Array.from({ length: 10 }, (_, r) => {
          const first = start + r * PER_REQUEST;
          const batch = Array.from({ length: PER_REQUEST }, (_, i) => viewEvent(run, first + i));
          return SELF.fetch('http://worker.test/v1/events', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ batch }),
          });
        });
        for (const response of await Promise.all(requests)) {
          expect(response.status).toBe(202);
          accepted += (await response.json<{ accepted: number }>()).accepted;
        }
      }
      // Keep MongoDB down until the consumer has met the outage (a delivery failed and was
      // retried with back-off), which /healthz reports as `mongodb: degraded`.
      const degraded = await waitFor(
        () =>
          SELF.fetch('http://worker.test/healthz').then((r) =>
            r.json<{ components: Record<string, { status: string }> }>(),
          ),
        (health) => health.components.mongodb?.status === 'degraded',
        120_000,
      );
      expect(degraded.components.mongodb?.status).toBe('degraded');
    } finally {
      await mongoOutage('resume');
    }
    expect(accepted).toBe(EVENTS);

    const stored = await waitFor(
      () => countRun(run),
      (n) => n >= EVENTS,
      240_000,
    );
    expect(stored).toBe(EVENTS);
    const distinct = await withDb((db) => db.collection('events').distinct('_id', { 'properties.run': run }));
    expect(distinct).toHaveLength(EVENTS);
    const rejected = await withDb((db) =>
      db.collection('rejected_events').countDocuments({ messageId: { $regex: `^${run}-` } }),
    );
    expect(rejected).toBe(0);
  });
});
