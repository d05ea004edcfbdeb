/**
 * What Segment-compatible senders other than analytics-node send, as they send it (RudderStack's SDKs
 * above all), and what the intake makes of it.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { validateStoredEvent } from '../../contracts/events';
import { eventInteractions } from '../../trainer/data/event-interactions';
import { ReadReport } from '../../trainer/data/types';
import { runId, viewEvent, waitForRunCount, withDb } from './events-support';

const BASE = 'http://worker.test';
const segmentAuth = { authorization: `Basic ${btoa('test-segment-write-key:')}` };

function post(path: string, body: BodyInit | object, headers: Record<string, string> = {}) {
  return SELF.fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...segmentAuth, ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

interface Doc {
  _id: string;
  userId?: unknown;
  anonymousId?: unknown;
  timestamp: Date;
  receivedAt: Date;
  properties?: Record<string, unknown>;
}

function docsOf(run: string): Promise<Doc[]> {
  return withDb((db) =>
    db.collection<Doc>('events').find({ 'properties.run': run }).sort({ _id: 1 }).toArray(),
  );
}

describe('empty-string ids (RudderStack JS sends userId "" until identify)', () => {
  it('are absent: the event is stored without them, and one with no id at all is still refused', async () => {
    const run = runId();
    const anonymous = viewEvent(run, 0, {
      userId: '',
      properties: { run, product_id: 'P1', sku: '', order_id: '', products: [{ product_id: '', sku: 'S2' }] },
    });
    const nobody = viewEvent(run, 1, { userId: '', anonymousId: '' });
    const response = await post('/v1/batch', { batch: [anonymous, nobody] });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      accepted: 1,
      rejected: [{ index: 1, field: 'anonymousId', reason: 'anonymousId or userId is required' }],
    });
    expect(await waitForRunCount(run, 1)).toBe(1);
    const [doc] = await docsOf(run);
    // Absent, not "": the live counters, activity lists and trainer would take "" for one shopper.
    expect(doc).not.toHaveProperty('userId');
    expect(doc?.anonymousId).toBe(anonymous.anonymousId);
    expect(doc?.properties).not.toHaveProperty('sku');
    expect(doc?.properties).not.toHaveProperty('order_id');
    expect(doc?.properties?.products).toEqual([{ sku: 'S2' }]);
  });

  it('/v1/events: ids sent as "" are the rx_uid cookie\'s shopper, as missing ones are', async () => {
    const run = runId();
    const shopper = crypto.randomUUID();
    const response = await SELF.fetch(`${BASE}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `rx_uid=${shopper}` },
      body: JSON.stringify({ batch: [viewEvent(run, 0, { anonymousId: '', userId: '' })] }),
    });
    expect(response.status).toBe(202);
    expect(await waitForRunCount(run, 1)).toBe(1);
    const [doc] = await docsOf(run);
    expect(doc?.anonymousId).toBe(shopper);
    expect(doc).not.toHaveProperty('userId');
  });

  it('readers of stored events (consumer, live counters, trainer) see "" as no id', () => {
    const stored = {
      ...viewEvent('r', 0, { userId: '', anonymousId: 'anon-1' }),
      receivedAt: '2024-05-01T12:00:00Z',
      site: 'test',
      bucket: 'treatment',
      model_version: null,
    };
    const checked = validateStoredEvent(stored);
    expect(checked.ok && checked.event.userId).toBeUndefined();
    const interactions = [...eventInteractions(stored, 1, new ReadReport(), new Map())];
    expect(interactions).toMatchObject([{ user: 'anon-1', anonymous: true }]);
  });
});
