/**
 * What Segment-compatible senders other than analytics-node send, as they send it (RudderStack's SDKs
 * above all), and what the intake makes of it.
 */
import { createExecutionContext, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { EVENT_LIMITS, validateStoredEvent } from '../../contracts/events';
import { eventInteractions } from '../../trainer/data/event-interactions';
import { anonymousUserKey } from '../../trainer/data/identities';
import { ReadReport } from '../../trainer/data/types';
import { createApp } from '../../worker/src/app';
import { runId, viewEvent, waitForRunCount, withDb, workerEnv } from './events-support';

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
    // An unlinked browser is keyed apart from user ids (trainer/data/identities.ts, 70c785e).
    expect(interactions).toMatchObject([{ user: anonymousUserKey('anon-1'), anonymous: true }]);
  });
});

describe('event time from originalTimestamp and sentAt (RudderStack sends no timestamp)', () => {
  const minutes = (n: number) => n * 60_000;

  it("corrects the sender's clock by sentAt as Segment does, else takes originalTimestamp", async () => {
    const run = runId();
    const now = Date.now();
    const { timestamp: _t, ...untimed } = viewEvent(run, 0);
    const at = (ms: number) => new Date(ms).toISOString();
    const batch: Record<string, unknown>[] = [
      // A device clock two days behind, the event made 10 minutes before it was sent.
      {
        ...untimed,
        messageId: `${run}-0`,
        originalTimestamp: at(now - 2 * 86_400_000 - minutes(10)),
        sentAt: at(now - 2 * 86_400_000),
      },
      // No sentAt (or one that is not a date): originalTimestamp as sent.
      { ...untimed, messageId: `${run}-1`, originalTimestamp: at(now - minutes(60)) },
      { ...untimed, messageId: `${run}-2`, originalTimestamp: at(now - minutes(30)), sentAt: 'soon' },
      // timestamp, when sent, wins.
      {
        ...untimed,
        messageId: `${run}-3`,
        timestamp: at(now - minutes(5)),
        originalTimestamp: at(now - minutes(50)),
      },
      // The plausibility window still applies to the result.
      { ...untimed, messageId: `${run}-4`, originalTimestamp: '9999-12-31T00:00:00Z' },
    ];
    const response = await post('/v1/batch', { batch });
    expect(await response.json()).toMatchObject({ accepted: 5, rejected: [] });
    // A batch-level sentAt (RudderStack's server SDKs) corrects the events that have none of their own.
    const late = {
      ...untimed,
      messageId: `${run}-5`,
      originalTimestamp: at(now - 3 * 86_400_000 - minutes(20)),
    };
    const withSentAt = await post('/v1/batch', { batch: [late], sentAt: at(now - 3 * 86_400_000) });
    expect(await withSentAt.json()).toMatchObject({ accepted: 1, rejected: [] });
    expect(await waitForRunCount(run, 6)).toBe(6);
    const docs = await docsOf(run);
    const age = (doc: Doc | undefined) => (doc ? doc.receivedAt.getTime() - doc.timestamp.getTime() : NaN);
    expect(age(docs[0])).toBe(minutes(10));
    expect(docs[1]?.timestamp.toISOString()).toBe(batch[1]?.originalTimestamp);
    expect(docs[2]?.timestamp.toISOString()).toBe(batch[2]?.originalTimestamp);
    expect(docs[3]?.timestamp.toISOString()).toBe(batch[3]?.timestamp);
    expect(age(docs[4])).toBe(0);
    expect(age(docs[5])).toBe(minutes(20));
  });

  it('takes +hhmm offsets and times without seconds (PHP DATE_ISO8601, Java SimpleDateFormat), stored as the same instant', async () => {
    const run = runId();
    const { timestamp: _t, ...untimed } = viewEvent(run, 0);
    const timed = (index: number, timestamp: string) => ({
      ...untimed,
      messageId: `${run}-${index}`,
      timestamp,
    });
    // `originalTimestamp` and `sentAt` in those forms too: read as `timestamp` is (senderTime).
    const sentAt = Math.floor(Date.now() / 60_000) * 60_000;
    const original = sentAt - minutes(10);
    const withOffset = (ms: number, offset: string, offsetMs: number) =>
      `${new Date(ms + offsetMs).toISOString().slice(0, 19)}${offset}`;
    const batch = [
      timed(0, '2024-05-01T12:00:00+0200'),
      timed(1, '2024-05-01T12:00Z'),
      timed(2, '2024-05-01T12:00:30.5-0530'),
      timed(3, '2024-05-01T12:00+02'),
      timed(4, '2024-02-30T12:00:00+0200'), // no 30 February
      {
        ...untimed,
        messageId: `${run}-5`,
        originalTimestamp: withOffset(original, '+0200', 2 * 3_600_000),
        sentAt: `${new Date(sentAt).toISOString().slice(0, 16)}Z`,
      },
    ];
    const response = await post('/v1/batch', { batch });
    expect(await response.json()).toEqual({
      success: true,
      accepted: 5,
      rejected: [
        {
          index: 4,
          field: 'timestamp',
          reason: 'must be an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z',
        },
      ],
    });
    expect(await waitForRunCount(run, 5)).toBe(5);
    const docs = await docsOf(run);
    expect(docs.map((doc) => [doc._id, doc.timestamp.toISOString()]).slice(0, 4)).toEqual([
      [`${run}-0`, '2024-05-01T10:00:00.000Z'],
      [`${run}-1`, '2024-05-01T12:00:00.000Z'],
      [`${run}-2`, '2024-05-01T17:30:30.500Z'],
      [`${run}-3`, '2024-05-01T10:00:00.000Z'],
    ]);
    const corrected = docs[4];
    expect(corrected?._id).toBe(`${run}-5`);
    expect(corrected && corrected.receivedAt.getTime() - corrected.timestamp.getTime()).toBe(minutes(10));
  });

  it('/v1/track: a single call corrected by its own sentAt', async () => {
    const run = runId();
    const now = Date.now();
    const { timestamp: _t, type: _type, ...untimed } = viewEvent(run, 0);
    const call = {
      ...untimed,
      originalTimestamp: new Date(now + 3 * 3_600_000).toISOString(),
      sentAt: new Date(now + 3 * 3_600_000 + 2_000).toISOString(),
    };
    expect((await post('/v1/track', call)).status).toBe(200);
    expect(await waitForRunCount(run, 1)).toBe(1);
    const [doc] = await docsOf(run);
    expect(doc && doc.receivedAt.getTime() - doc.timestamp.getTime()).toBe(2_000);
  });
});

describe('analytics.js 2.0 (@segment/analytics-next): its short paths, text/plain, writeKey in the body', () => {
  // What it posts with its apiHost set to the worker: `${apiHost}/${type.charAt(0)}` per call, or
  // `${apiHost}/b` in its batching mode; no Authorization header, so no CORS preflight.
  const WRITE_KEY = 'test-segment-write-key';
  const ajsCall = (run: string, index: number, type: string, extra: Record<string, unknown> = {}) => {
    const { type: _type, ...event } = viewEvent(run, index);
    return {
      ...event,
      type,
      sentAt: new Date().toISOString(),
      writeKey: WRITE_KEY,
      integrations: {},
      _metadata: { bundled: ['Segment.io'], unbundled: [], bundledIds: [] },
      context: {
        page: { url: 'https://shop.example/p' },
        library: { name: 'analytics.js', version: 'next-1.70.0' },
      },
      ...extra,
    };
  };
  const ajsPost = (path: string, body: object) =>
    SELF.fetch(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(body),
    });

  it('/v1/t, /v1/p, /v1/i and /v1/b store the events, as /v1/track, /v1/page, /v1/identify and /v1/batch do', async () => {
    const run = runId();
    const sent = [
      ['/v1/t', ajsCall(run, 0, 'track')],
      ['/v1/p', ajsCall(run, 1, 'page', { event: undefined, name: 'Product' })],
      [
        '/v1/i',
        ajsCall(run, 2, 'identify', { event: undefined, userId: `user-${run}`, traits: { plan: 'a' } }),
      ],
      [
        '/v1/b',
        {
          writeKey: WRITE_KEY,
          batch: [3, 4].map((index) => {
            const { sentAt: _sentAt, ...event } = ajsCall(run, index, 'track');
            return event;
          }),
          sentAt: new Date().toISOString(),
        },
      ],
    ] as const;
    for (const [path, body] of sent) {
      const response = await ajsPost(path, body);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(await response.json()).toMatchObject({ success: true, rejected: [] });
    }
    expect(await waitForRunCount(run, 5)).toBe(5);
    const docs = await withDb((db) =>
      db
        .collection<Record<string, unknown>>('events')
        .find({ 'properties.run': run })
        .sort({ _id: 1 })
        .toArray(),
    );
    expect(docs.map((doc) => [doc._id, doc.type])).toEqual([
      [`${run}-0`, 'track'],
      [`${run}-1`, 'page'],
      [`${run}-2`, 'identify'],
      [`${run}-3`, 'track'],
      [`${run}-4`, 'track'],
    ]);
    // The write key is a credential: in no stored event.
    for (const doc of docs) expect(doc).not.toHaveProperty('writeKey');
  });

  it('the short paths need the write key as the long ones do', async () => {
    const { writeKey: _key, ...keyless } = ajsCall(runId(), 0, 'track');
    expect((await ajsPost('/v1/t', keyless)).status).toBe(401);
    expect((await ajsPost('/v1/b', { batch: [keyless] })).status).toBe(401);
  });

  it('screen, group and alias calls, long or short path, are refused naming type, as /v1/batch refuses them', async () => {
    const run = runId();
    const refusal = { index: 0, field: 'type', reason: 'must be "track", "page" or "identify"' };
    for (const type of ['screen', 'group', 'alias']) {
      for (const path of [`/v1/${type}`, `/v1/${type.charAt(0)}`]) {
        const response = await ajsPost(path, ajsCall(run, 0, type, { event: undefined }));
        expect({ path, status: response.status }).toEqual({ path, status: 400 });
        expect(await response.json()).toMatchObject({
          error: { code: 'invalid_events', details: [refusal] },
        });
      }
      const batch = await ajsPost('/v1/b', { writeKey: WRITE_KEY, batch: [ajsCall(run, 0, type)] });
      expect(batch.status).toBe(400);
      expect(await batch.json()).toMatchObject({ error: { code: 'invalid_events', details: [refusal] } });
    }
    // In a batch beside a track call: that one is stored, this one listed.
    const mixed = await ajsPost('/v1/b', {
      writeKey: WRITE_KEY,
      batch: [ajsCall(run, 1, 'track'), ajsCall(run, 2, 'group', { event: undefined, groupId: 'g1' })],
    });
    expect(await mixed.json()).toEqual({ success: true, accepted: 1, rejected: [{ ...refusal, index: 1 }] });
  });
});

describe('CORS for RudderStack JS on the shop pages', () => {
  const shops = workerEnv({ SHOP_ORIGINS: 'https://shop.example' });
  const preflight = (path: string) =>
    createApp().fetch(
      new Request(`${BASE}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,anonymousid,content-type',
        },
      }),
      shops,
      createExecutionContext(),
    );
  const allowed = async (path: string) =>
    ((await preflight(path)).headers.get('access-control-allow-headers') ?? '')
      .toLowerCase()
      .split(/\s*,\s*/);

  it('the Segment-compatible routes allow its Authorization and AnonymousId headers', async () => {
    for (const path of [
      '/v1/batch',
      '/v1/track',
      '/v1/page',
      '/v1/identify',
      '/v1/b',
      '/v1/t',
      '/v1/p',
      '/v1/i',
    ]) {
      expect(await allowed(path)).toEqual(
        expect.arrayContaining(['authorization', 'anonymousid', 'content-type']),
      );
    }
  });

  it('the other routes do not', async () => {
    for (const path of ['/v1/events', '/v1/recommendations', '/v1/prices/verify']) {
      const headers = await allowed(path);
      expect(headers).toContain('x-rx-uid');
      expect(headers).not.toContain('authorization');
      expect(headers).not.toContain('anonymousid');
    }
  });
});

async function compressed(text: string, format: 'gzip' | 'deflate'): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('compressed request bodies (RudderStack Ruby SDK: gzip)', () => {
  it('takes gzip and deflate bodies on the Segment routes and /v1/events', async () => {
    const run = runId();
    const gzip = await compressed(JSON.stringify({ batch: [viewEvent(run, 0)] }), 'gzip');
    expect((await post('/v1/batch', gzip, { 'content-encoding': 'gzip' })).status).toBe(200);
    const deflate = await compressed(JSON.stringify(viewEvent(run, 1)), 'deflate');
    expect((await post('/v1/track', deflate, { 'content-encoding': 'deflate' })).status).toBe(200);
    const events = await compressed(JSON.stringify({ batch: [viewEvent(run, 2)] }), 'gzip');
    const response = await SELF.fetch(`${BASE}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: events,
    });
    expect(response.status).toBe(202);
    expect(await waitForRunCount(run, 3)).toBe(3);
  });

  it('413 when the body is over the limit once decompressed (a zip bomb), as for a plain one', async () => {
    // 600 KB of JSON (over the 500 KB batch limit) in about 1 KB of gzip.
    const big = JSON.stringify({ batch: [viewEvent(runId(), 0, { context: { pad: ' '.repeat(600_000) } })] });
    const bomb = await compressed(big, 'gzip');
    expect(bomb.byteLength).toBeLessThan(5_000);
    const response = await post('/v1/batch', bomb, { 'content-encoding': 'gzip' });
    expect(response.status).toBe(413);
    const plain = await post('/v1/batch', big);
    expect(plain.status).toBe(413);
    expect(await response.json()).toEqual(await plain.json());
    // 20 MB of JSON in 20 KB: refused once the output passes the limit, the rest never inflated.
    const huge = await compressed(`{"batch":[${' '.repeat(20_000_000)}]}`, 'gzip');
    expect(huge.byteLength).toBeLessThan(EVENT_LIMITS.maxBatchBytes);
    expect((await post('/v1/batch', huge, { 'content-encoding': 'gzip' })).status).toBe(413);
    // The single calls' 32 KB limit too.
    const call = await compressed(
      JSON.stringify({ ...viewEvent(runId(), 0), pad: 'x'.repeat(40_000) }),
      'gzip',
    );
    expect((await post('/v1/track', call, { 'content-encoding': 'gzip' })).status).toBe(413);
  });

  it('400 malformed_json for a body that is not what its coding says; 415 naming content-encoding for other codings', async () => {
    const notGzip = await post('/v1/batch', '{"batch": []}', { 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);
    expect(await notGzip.json()).toMatchObject({ error: { code: 'malformed_json' } });
    const brotli = await post('/v1/batch', 'whatever', { 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);
    expect(await brotli.json()).toMatchObject({
      error: { code: 'unsupported_media_type', details: [{ field: 'content-encoding' }] },
    });
  });
});

interface Answer {
  accepted: number;
  rejected: Array<{ index: number; field?: string; reason: string }>;
}

describe('a "__proto__" key (JSON.parse keeps it; a copy of the object loses it)', () => {
  it('refuses the event, naming the field, wherever the key is', async () => {
    const run = runId();
    const event = (index: number, inside: string) =>
      JSON.stringify(viewEvent(run, index)).replace('"properties":{', `"properties":{${inside}`);
    const body = `{"batch":[${[
      event(0, ''),
      event(1, '"__proto__":{"price":1},'),
      event(2, '"products":[{"__proto__":{},"product_id":"P1"}],'),
      event(3, '"nested":{"__proto__":{}},'),
    ].join(',')}]}`;
    const response = await post('/v1/batch', body);
    const answer = await response.json<Answer>();
    expect(answer.accepted).toBe(1);
    expect(answer.rejected).toEqual([
      { index: 1, field: 'properties.__proto__', reason: expect.stringMatching(/__proto__/) },
      { index: 2, field: 'properties.products.0.__proto__', reason: expect.stringMatching(/__proto__/) },
      { index: 3, field: 'properties.nested.__proto__', reason: expect.stringMatching(/__proto__/) },
    ]);
  });

  it('in context, the batch context or a single call', async () => {
    const run = runId();
    const inContext = JSON.stringify(viewEvent(run, 0, { context: { ip: '1' } })).replace(
      '"context":{',
      '"context":{"__proto__":{"ip":"2"},',
    );
    const own = await post('/v1/batch', `{"batch":[${inContext}]}`);
    expect((await own.json<{ error: { details: unknown[] } }>()).error.details).toEqual([
      { index: 0, field: 'context.__proto__', reason: expect.any(String) },
    ]);
    const batchContext = await post(
      '/v1/batch',
      `{"batch":[${JSON.stringify(viewEvent(run, 1))}],"context":{"__proto__":{"ip":"3"}}}`,
    );
    expect((await batchContext.json<{ error: { details: unknown[] } }>()).error.details).toEqual([
      { index: 0, field: 'context.__proto__', reason: expect.any(String) },
    ]);
    const { type: _type, ...call } = viewEvent(run, 2);
    const single = await post('/v1/track', `{"__proto__":{"userId":"u"},${JSON.stringify(call).slice(1)}`);
    expect(single.status).toBe(400);
    expect((await single.json<{ error: { details: unknown[] } }>()).error.details).toEqual([
      { index: 0, field: '__proto__', reason: expect.any(String) },
    ]);
    expect(await docsOf(run)).toEqual([]);
  });
});
