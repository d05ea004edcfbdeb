import { createExecutionContext, env, SELF } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { SERVER_OWNED_KEYS } from '../../contracts/events';
import { createApp } from '../../worker/src/app';
import type { Env } from '../../worker/src/env';
import { REPEAT_LIMIT } from '../../worker/src/log-repeating';
import { holdoutBucket, holdoutPercent } from '../../worker/src/shopper';
import { refusingQueue, runId, viewEvent, waitForRunCount, withDb, workerEnv } from './events-support';

const BASE = 'http://worker.test';

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const segmentAuth = (key = 'test-segment-write-key') => ({ authorization: `Basic ${btoa(`${key}:`)}` });

interface StoredDoc {
  _id: string;
  site: string;
  bucket: string;
  receivedAt: Date;
  timestamp: Date;
  model_version: string | null;
  context?: Record<string, unknown>;
  writeKey?: unknown;
}

describe('POST /v1/events', () => {
  it('answers 202 and the events reach MongoDB through the real queue and consumer, enriched', async () => {
    const run = runId();
    const batch = Array.from({ length: 5 }, (_, i) => viewEvent(run, i));
    const response = await post('/v1/events', { batch });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 5, rejected: [] });
    expect(await waitForRunCount(run, 5)).toBe(5);
    const doc = await withDb((db) => db.collection<StoredDoc>('events').findOne({ _id: `${run}-0` }));
    expect(doc?.site).toBe('test');
    expect(['treatment', 'holdout']).toContain(doc?.bucket);
    expect(doc?.receivedAt).toBeInstanceOf(Date);
    expect(doc?.timestamp.toISOString()).toBe(batch[0]?.timestamp);
  });

  it('the fields the server owns cannot be spoofed: site, bucket, _id, receivedAt and model_version are its own', async () => {
    const run = runId();
    const { SITE_ID, HOLDOUT_PERCENT } = env as unknown as Env;
    // A shopper the server puts in treatment, so a sent `bucket: 'holdout'` would show if kept.
    let shopper = '';
    for (let i = 0; !shopper; i++) {
      const candidate = `anon-${run}-${i}`;
      if ((await holdoutBucket(SITE_ID, candidate, holdoutPercent(HOLDOUT_PERCENT))) === 'treatment')
        shopper = candidate;
    }
    const spoofed = {
      site: 'x',
      bucket: 'holdout',
      _id: `spoofed-${run}`,
      receivedAt: '2001-01-01T00:00:00.000Z',
      model_version: 'spoofed-model',
    };
    // Every key the contract says the server owns is tried here (writeKey has its own test below).
    expect([...Object.keys(spoofed), 'writeKey'].sort()).toEqual([...SERVER_OWNED_KEYS].sort());
    const before = Date.now();
    const response = await post('/v1/events', {
      batch: [viewEvent(run, 0, { anonymousId: shopper, ...spoofed })],
    });
    const after = Date.now();
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 1, rejected: [] });
    expect(await waitForRunCount(run, 1)).toBe(1);
    const doc = await withDb((db) => db.collection<StoredDoc>('events').findOne({ 'properties.run': run }));
    expect(doc?._id).toBe(`${run}-0`); // the messageId
    expect(doc?.site).toBe(SITE_ID);
    expect(doc?.bucket).toBe('treatment');
    expect(doc?.model_version).toBeNull(); // the event reports no served version
    expect(doc?.receivedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(doc?.receivedAt.getTime()).toBeLessThanOrEqual(after);
    expect(
      await withDb((db) => db.collection<{ _id: string }>('events').countDocuments({ _id: spoofed._id })),
    ).toBe(0);
  });

  it('accepts the good events of a batch and lists each rejected one with index, field and reason', async () => {
    const run = runId();
    const bad = { type: 'track', anonymousId: 'a', properties: { price: 'cheap' } };
    const response = await post('/v1/events', { batch: [viewEvent(run, 0), bad, viewEvent(run, 2)] });
    expect(response.status).toBe(202);
    const body = await response.json<{
      accepted: number;
      rejected: Array<{ index: number; field?: string; reason: string }>;
    }>();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toEqual(
      expect.arrayContaining([
        { index: 1, field: 'event', reason: 'is required for a track call' },
        expect.objectContaining({ index: 1, field: 'properties.price' }),
      ]),
    );
    expect(await waitForRunCount(run, 2)).toBe(2);
  });

  it('rejects on its own, with its field, an event MongoDB could not store or JSON could not measure', async () => {
    const run = runId();
    const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const events = [
      JSON.stringify(viewEvent(run, 0)),
      // A NUL in a field name: BSON cannot write it, and the consumer's whole batch would fail with it.
      JSON.stringify(viewEvent(run, 1, { properties: { run, 'a\u0000b': 1 } })),
      // Deeper than MongoDB's nesting limit, though tiny.
      JSON.stringify(viewEvent(run, 2, { context: JSON.parse(nested(40)) })),
      // Deep enough to overflow JSON.stringify (~8 KB): it used to make the whole request a 500.
      JSON.stringify(viewEvent(run, 3, { context: { placeholder: true } })).replace(
        '{"placeholder":true}',
        nested(6000),
      ),
      JSON.stringify(viewEvent(run, 4)),
    ];
    const response = await post('/v1/events', `{"batch":[${events.join(',')}]}`);
    expect(response.status).toBe(202);
    const body = await response.json<{
      accepted: number;
      rejected: Array<{ index: number; field?: string }>;
    }>();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map(({ index, field }) => [index, field?.slice(0, 12)])).toEqual([
      [1, 'properties.a'],
      [2, 'context.a.a.'],
      [3, 'context.a.a.'],
    ]);
    expect(await waitForRunCount(run, 2)).toBe(2);
    const stored = await withDb((db) =>
      db
        .collection<StoredDoc>('events')
        .find({ 'properties.run': run })
        .map((doc) => doc._id)
        .toArray(),
    );
    expect(stored.sort()).toEqual([`${run}-0`, `${run}-4`]);
  });

  it('refuses ids that would merge with others: a number past 2^53, a lone surrogate', async () => {
    const run = runId();
    const events = [
      // Written as text: a JS number would already be rounded here, as JSON.parse rounds it there.
      JSON.stringify(viewEvent(run, 0, { properties: { run, product_id: 'BIG' } })).replace(
        '"BIG"',
        '9007199254740993',
      ),
      JSON.stringify(viewEvent(run, 1, { messageId: `${run}-1\uD800` })),
      JSON.stringify(viewEvent(run, 2, { properties: { run, product_id: 'P\uDC00' } })),
      JSON.stringify(viewEvent(run, 3, { properties: { run, product_id: 9007199254740991 } })),
    ];
    const response = await post('/v1/events', `{"batch":[${events.join(',')}]}`);
    const body = await response.json<{
      accepted: number;
      rejected: Array<{ index: number; field?: string }>;
    }>();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map(({ index, field }) => [index, field])).toEqual([
      [0, 'properties.product_id'],
      [1, 'messageId'],
      [2, 'properties.product_id'],
    ]);
    expect(await waitForRunCount(run, 1)).toBe(1);
  });

  it("takes amounts sent as plain decimal strings (a data layer's rendered prices) and stores numbers", async () => {
    const run = runId();
    const order = {
      type: 'track',
      event: 'Order Completed',
      messageId: `${run}-order`,
      anonymousId: 'a-strings',
      properties: {
        run,
        order_id: `o-${run}`,
        revenue: '49.90',
        products: [{ product_id: '85123A', price: ' 12.99 ', quantity: '3' }],
      },
    };
    const refused = { ...viewEvent(run, 1), properties: { run, product_id: '85123A', price: '£12.99' } };
    const grouped = { ...viewEvent(run, 2), properties: { run, product_id: '85123A', revenue: '1,234.50' } };
    const response = await post('/v1/events', { batch: [order, refused, grouped] });
    const body = await response.json<{
      accepted: number;
      rejected: Array<{ index: number; field?: string }>;
    }>();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map(({ index, field }) => [index, field])).toEqual([
      [1, 'properties.price'],
      [2, 'properties.revenue'],
    ]);
    expect(await waitForRunCount(run, 1)).toBe(1);
    const stored = await withDb((db) =>
      db.collection<{ _id: string; properties?: unknown }>('events').findOne({ _id: `${run}-order` }),
    );
    expect(stored?.properties).toMatchObject({
      revenue: 49.9,
      products: [{ product_id: '85123A', price: 12.99, quantity: 3 }],
    });
  });

  it('stores a time before 2000 or over a day ahead of arrival as the arrival time', async () => {
    const run = runId();
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const batch = [
      viewEvent(run, 0, { timestamp: '9999-12-31T00:00:00Z' }),
      viewEvent(run, 1, { timestamp: '0000-01-01T00:00:00+01:00' }),
      viewEvent(run, 2, { timestamp: hourAgo }),
    ];
    const sent = Date.now();
    expect((await post('/v1/events', { batch })).status).toBe(202);
    expect(await waitForRunCount(run, 3)).toBe(3);
    const stored = await withDb((db) =>
      db.collection<StoredDoc>('events').find({ 'properties.run': run }).sort({ _id: 1 }).toArray(),
    );
    for (const doc of stored.slice(0, 2)) {
      expect(doc.timestamp.getTime()).toBe(doc.receivedAt.getTime());
      expect(doc.timestamp.getTime()).toBeGreaterThanOrEqual(sent - 60_000);
    }
    expect(stored[2]?.timestamp.toISOString()).toBe(hourAgo);
  });

  it('400 with per-event reasons when no event is valid', async () => {
    const response = await post('/v1/events', {
      batch: [
        { type: 'click', anonymousId: 'a' },
        { type: 'track', event: 'X', timestamp: 'yesterday', userId: 'u' },
      ],
    });
    expect(response.status).toBe(400);
    const body = await response.json<{
      error: { code: string; details: Array<{ index: number; field?: string }> };
    }>();
    expect(body.error.code).toBe('invalid_events');
    expect(body.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 0, field: 'type' }),
        expect.objectContaining({ index: 1, field: 'timestamp' }),
      ]),
    );
  });

  it('400 for a body that is not {batch:[...]} or not JSON; 415 for other media types', async () => {
    const wrongShape = await post('/v1/events', { events: [] });
    expect(wrongShape.status).toBe(400);
    expect(
      (await wrongShape.json<{ error: { code: string; details: Array<{ field?: string }> } }>()).error,
    ).toMatchObject({
      code: 'invalid_request',
      details: [{ field: 'batch' }],
    });
    const notJson = await post('/v1/events', '{"batch": [');
    expect(notJson.status).toBe(400);
    expect((await notJson.json<{ error: { code: string } }>()).error.code).toBe('malformed_json');
    const form = await post('/v1/events', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
  });

  it('accepts text/plain bodies (sendBeacon) like application/json', async () => {
    const run = runId();
    const response = await post(
      '/v1/events',
      { batch: [viewEvent(run, 0)] },
      { 'content-type': 'text/plain;charset=UTF-8' },
    );
    expect(response.status).toBe(202);
  });

  it('413 over 500 KB per request; an event over 32 KB is rejected on its own', async () => {
    const run = runId();
    const big = viewEvent(run, 1, { context: { blob: 'x'.repeat(33 * 1024) } });
    const mixed = await post('/v1/events', { batch: [viewEvent(run, 0), big] });
    expect(mixed.status).toBe(202);
    const mixedBody = await mixed.json<{
      accepted: number;
      rejected: Array<{ index: number; reason: string }>;
    }>();
    expect(mixedBody.accepted).toBe(1);
    expect(mixedBody.rejected[0]?.index).toBe(1);
    expect(mixedBody.rejected[0]?.reason).toMatch(/limit is 32768 bytes/);

    const onlyBig = await post('/v1/events', { batch: [big] });
    expect(onlyBig.status).toBe(413);
    const huge = Array.from({ length: 20 }, (_, i) =>
      viewEvent(run, i, { context: { blob: 'y'.repeat(30 * 1024) } }),
    );
    const tooLarge = await post('/v1/events', { batch: huge });
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json<{ error: { code: string } }>()).error.code).toBe('payload_too_large');
  });

  it('503 with Retry-After when the queue refuses the events (nothing pretends success)', async () => {
    const app = createApp();
    const response = await app.fetch(
      new Request(`${BASE}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ batch: [viewEvent(runId(), 0)] }),
      }),
      // Without the outbox, so the answer says nothing is held (with it: events-outbox.test.ts).
      workerEnv({ EVENTS: refusingQueue(), EVENT_OUTBOX: undefined }),
      createExecutionContext(),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    const error = (await response.json<{ error: { code: string; message: string } }>()).error;
    expect(error).toEqual({
      code: 'queue_unavailable',
      message: 'Events could not be queued; retry later with the same messageIds',
      details: [],
    });
  });

  it('an outage does not write one error line per request: queue_send_failed is capped per isolate', async () => {
    const app = createApp();
    const env = workerEnv({ EVENTS: refusingQueue(), EVENT_OUTBOX: undefined });
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const statuses: number[] = [];
    let lines: string[];
    try {
      for (let i = 0; i < REPEAT_LIMIT + 15; i++) {
        const response = await app.fetch(
          new Request(`${BASE}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ batch: [viewEvent(runId(), 0)] }),
          }),
          env,
          createExecutionContext(),
        );
        statuses.push(response.status);
      }
    } finally {
      // Read before mockRestore, which clears the recorded calls.
      lines = logged.mock.calls
        .map((call) => String(call[0]))
        .filter((line) => line.includes('queue_send_failed'));
      logged.mockRestore();
    }
    // Every sender is still told; only the log is capped (earlier tests may have used part of the window).
    expect(statuses).toEqual(Array(REPEAT_LIMIT + 15).fill(503));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(REPEAT_LIMIT);
  });
});

describe('Segment-compatible intake', () => {
  it('401 without the write key or with a wrong one', async () => {
    const body = { batch: [viewEvent(runId(), 0)] };
    expect((await post('/v1/batch', body)).status).toBe(401);
    const wrong = await post('/v1/batch', body, segmentAuth('not-the-key'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Basic');
  });

  it('/v1/batch with Basic auth: batch context applies to each event, writeKey is never stored', async () => {
    const run = runId();
    const response = await post(
      '/v1/batch',
      {
        batch: [viewEvent(run, 0), viewEvent(run, 1)],
        context: { library: { name: 'test' } },
        writeKey: 'test-segment-write-key',
      },
      segmentAuth(),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, accepted: 2, rejected: [] });
    expect(await waitForRunCount(run, 2)).toBe(2);
    const doc = await withDb((db) => db.collection<StoredDoc>('events').findOne({ _id: `${run}-1` }));
    expect(doc?.context).toEqual({ library: { name: 'test' } });
    expect(doc?.writeKey).toBeUndefined();
  });

  it('/v1/batch: 413 naming context when the batch context, copied into each event, would pass 500 KB', async () => {
    const run = runId();
    // A 200 KB body: 5,000 tiny events and a 30 KB context would be 150 MB once the context is copied.
    const batch = Array.from({ length: 5_000 }, () => ({ type: 'identify', userId: `u-${run}` }));
    const context = { pad: 'x'.repeat(30_000) };
    const response = await post('/v1/batch', { batch, context }, segmentAuth());
    expect(response.status).toBe(413);
    const body = await response.json<{ error: { code: string; details: Array<{ field?: string }> } }>();
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.details[0]?.field).toBe('context');
    // The same context with a few events is taken.
    const few = await post(
      '/v1/batch',
      { batch: [viewEvent(run, 0), viewEvent(run, 1)], context },
      segmentAuth(),
    );
    expect(few.status).toBe(200);
  });

  it('takes null for an absent field, as Segment libraries send it (analytics-python: userId null)', async () => {
    const run = runId();
    const anonymous = viewEvent(run, 0, { userId: null, context: null, properties: { run, sku: null } });
    const unnamedPage = { ...viewEvent(run, 1, { type: 'page', name: null, category: null }), event: null };
    const nobody = viewEvent(run, 2, { anonymousId: null, userId: null });
    const response = await post('/v1/batch', { batch: [anonymous, unnamedPage, nobody] }, segmentAuth());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      accepted: 2,
      rejected: [{ index: 2, field: 'anonymousId', reason: 'anonymousId or userId is required' }],
    });
    expect(await waitForRunCount(run, 2)).toBe(2);
    const doc = await withDb((db) => db.collection<{ _id: string }>('events').findOne({ _id: `${run}-0` }));
    expect(doc).not.toHaveProperty('userId');
    expect(doc).not.toHaveProperty('context');
  });

  it("an event whose ids are null is the rx_uid cookie's shopper, as one without them is", async () => {
    const run = runId();
    const shopper = crypto.randomUUID();
    const response = await post(
      '/v1/events',
      {
        batch: [
          viewEvent(run, 0, { anonymousId: null, userId: null }),
          viewEvent(run, 1, { anonymousId: null }),
        ],
      },
      { cookie: `rx_uid=${shopper}` },
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 2, rejected: [] });
    expect(await waitForRunCount(run, 2)).toBe(2);
    const docs = await withDb((db) =>
      db
        .collection<{ _id: string; anonymousId?: string }>('events')
        .find({ _id: { $in: [`${run}-0`, `${run}-1`] } })
        .toArray(),
    );
    expect(docs.map((doc) => doc.anonymousId)).toEqual([shopper, shopper]);
  });

  it('/v1/track, /v1/page and /v1/identify take one call each, the type from the path', async () => {
    const run = runId();
    const track = viewEvent(run, 0);
    const { type: _type, ...withoutType } = track;
    expect((await post('/v1/track', withoutType, segmentAuth())).status).toBe(200);
    expect(
      (
        await post(
          '/v1/page',
          { ...withoutType, event: undefined, name: 'Home', messageId: `${run}-p` },
          segmentAuth(),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await post(
          '/v1/identify',
          { userId: 'u-1', traits: { plan: 'gold' }, messageId: `${run}-i`, properties: { run } },
          segmentAuth(),
        )
      ).status,
    ).toBe(200);
    expect(await waitForRunCount(run, 3)).toBe(3);
    const page = await withDb((db) =>
      db.collection<{ _id: string; type: string }>('events').findOne({ _id: `${run}-p` }),
    );
    expect(page?.type).toBe('page');
  });
});
