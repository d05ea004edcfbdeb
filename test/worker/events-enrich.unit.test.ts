/**
 * enrichEvents' own decisions, at their bounds (found by a mutation audit: the route tests use dates
 * far from them): how far ahead of its arrival an event may be dated, and which id picks the
 * experiment bucket of an event that has both.
 */
import { describe, expect, it } from 'vitest';
import type { RxEvent } from '../../contracts/events';
import { enrichEvents } from '../../worker/src/events/enrich';
import { holdoutBucket } from '../../worker/src/shopper';

const SITE = 'enrich-test';
const receivedAt = new Date('2024-05-01T12:00:00.000Z');
const event = (overrides: Partial<RxEvent>): RxEvent =>
  ({ type: 'track', event: 'Product Viewed', anonymousId: crypto.randomUUID(), ...overrides }) as RxEvent;

describe('enrichEvents', () => {
  it('keeps a time up to a day ahead of arrival (a fast device clock) and takes the arrival time past it', async () => {
    const hoursAhead = (hours: number) => new Date(receivedAt.getTime() + hours * 3_600_000).toISOString();
    const stored = await enrichEvents(
      { SITE_ID: SITE, HOLDOUT_PERCENT: '0' },
      [event({ timestamp: hoursAhead(23) }), event({ timestamp: hoursAhead(25) })],
      { receivedAt },
    );
    expect(stored.map((one) => one.timestamp)).toEqual([hoursAhead(23), receivedAt.toISOString()]);
  });

  it('buckets an event with both ids by its anonymousId, the id that chose what the shopper saw', async () => {
    // An anonymous id in holdout and a user id that, read as an anonymous id, would be in treatment.
    let anonymousId = '';
    let userId = '';
    for (let i = 0; !anonymousId || !userId; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const bucket = await holdoutBucket(SITE, id, 50);
      if (bucket === 'holdout' && !anonymousId) anonymousId = id;
      if (bucket === 'treatment' && !userId) userId = id;
    }
    const [stored] = await enrichEvents({ SITE_ID: SITE, HOLDOUT_PERCENT: '50' }, [
      event({ anonymousId, userId }),
    ]);
    expect(stored?.bucket).toBe('holdout');
  });
});
