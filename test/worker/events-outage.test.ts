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
      // Let the consumer meet the outage: its deliveries fail and are retried with back-off.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
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
