/**
 * Decisions of the intake routes that the MongoDB round trips elsewhere did not pin down (found by a
 * mutation audit): which shopper id fills an event, whose context wins in a Segment batch, which
 * error a batch with several kinds of rejection gets, the type of a single call. The queue here
 * only records what it is sent, so each test reads the exact events the consumer would get.
 */
import { createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { createApp } from '../../worker/src/app';
import type { Env } from '../../worker/src/env';
import type { EventPack } from '../../worker/src/events/event-pack';
import { viewEvent, workerEnv } from './events-support';

const BASE = 'http://worker.test';
const segmentAuth = { authorization: `Basic ${btoa('test-segment-write-key:')}` };

/** An `EVENTS` binding that takes every send and keeps the events it was sent. */
function recordingQueue() {
  const events: StoredEvent[] = [];
  const queue = {
    send: async (body: EventPack) => {
      events.push(...body.events);
    },
    sendBatch: async (messages: { body: EventPack }[]) => {
      for (const message of messages) events.push(...message.body.events);
    },
  } as unknown as Queue<unknown>;
  return { queue, events };
}

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  overrides: Partial<Env> = {},
) {
  const { queue, events } = recordingQueue();
  const response = await createApp().fetch(
    new Request(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: body instanceof Uint8Array ? body : JSON.stringify(body),
    }),
    workerEnv({ EVENTS: queue, ...overrides }),
    createExecutionContext(),
  );
  return { response, events };
}

describe('the shopper id /v1/events fills in', () => {
  const cookieShopper = '6f1c1d2e-3a4b-4c5d-8e6f-708192a3b4c5';
  const headerShopper = '0a1b2c3d-4e5f-4a6b-9c7d-8e9fa0b1c2d3';

  it('goes only to events with neither id: a logged-in shopper’s event keeps its userId alone', async () => {
    const noIds = viewEvent('ids', 1, { anonymousId: undefined });
    const { response, events } = await post(
      '/v1/events',
      { batch: [viewEvent('ids', 0, { anonymousId: undefined, userId: 'customer-42' }), noIds] },
      { cookie: `rx_uid=${cookieShopper}` },
    );
    expect(response.status).toBe(202);
    expect(events.map((event) => [event.userId, event.anonymousId])).toEqual([
      ['customer-42', undefined],
      [undefined, cookieShopper],
    ]);
  });

  it('is the x-rx-uid header’s without a cookie (script mode), and the cookie’s when both are sent', async () => {
    const event = viewEvent('ids', 0, { anonymousId: undefined });
    const fromHeader = await post('/v1/events', { batch: [event] }, { 'x-rx-uid': headerShopper });
    expect(fromHeader.events[0]?.anonymousId).toBe(headerShopper);
    const both = await post(
      '/v1/events',
      { batch: [event] },
      { 'x-rx-uid': headerShopper, cookie: `rx_uid=${cookieShopper}` },
    );
    expect(both.events[0]?.anonymousId).toBe(cookieShopper);
  });
});

describe('Segment-compatible routes', () => {
  it("/v1/batch: the batch context fills in only what an event's own context does not say", async () => {
    const { response, events } = await post(
      '/v1/batch',
      {
        batch: [viewEvent('ctx', 0, { context: { library: { name: 'own' } } }), viewEvent('ctx', 1)],
        context: { library: { name: 'batch' }, locale: 'en-GB' },
      },
      segmentAuth,
    );
    expect(response.status).toBe(200);
    expect(events.map((event) => event.context)).toEqual([
      { library: { name: 'own' }, locale: 'en-GB' },
      { library: { name: 'batch' }, locale: 'en-GB' },
    ]);
  });

  it('without any write key set, says the intake is off and how to turn it on, not that the key is wrong', async () => {
    const off = { SEGMENT_WRITE_KEY: undefined, SEGMENT_SERVER_WRITE_KEY: undefined };
    const { response, events } = await post('/v1/track', viewEvent('off', 0), segmentAuth, off);
    expect(response.status).toBe(401);
    const error = (await response.json<{ error: { code: string; message: string } }>()).error;
    expect(error.code).toBe('segment_not_configured');
    expect(error.message).toContain('SEGMENT_WRITE_KEY');
    expect(events).toEqual([]);
  });

  it("/v1/track takes the call's type from its path, whatever type its body names", async () => {
    const { response, events } = await post('/v1/track', viewEvent('type', 0, { type: 'page' }), segmentAuth);
    expect(response.status).toBe(200);
    expect(events.map((event) => event.type)).toEqual(['track']);
  });
});

describe('a batch with no valid event', () => {
  it('is 413 only when every event was too large; with another problem too it is 400 invalid_events', async () => {
    const big = viewEvent('big', 0, { context: { blob: 'x'.repeat(33 * 1024) } });
    const onlyBig = await post('/v1/events', { batch: [big, big] });
    expect(onlyBig.response.status).toBe(413);
    const mixed = await post('/v1/events', { batch: [big, { type: 'click', anonymousId: 'a' }] });
    expect(mixed.response.status).toBe(400);
    const error = (await mixed.response.json<{ error: { code: string; details: { index: number }[] } }>())
      .error;
    expect(error.code).toBe('invalid_events');
    expect(error.details.map((detail) => detail.index)).toEqual(expect.arrayContaining([0, 1]));
    expect(mixed.events).toEqual([]);
  });
});

describe('compressed bodies', () => {
  it('takes a +json media type (application/vnd.api+json) as JSON, in any case, and refuses other types by name', async () => {
    const batch = { batch: [viewEvent('json', 0)] };
    const vendor = await post('/v1/events', batch, { 'content-type': 'Application/VND.API+JSON' });
    expect(vendor.response.status).toBe(202);
    expect(vendor.events.map((event) => event.messageId)).toEqual(['json-0']);
    const xml = await post('/v1/events', batch, { 'content-type': 'application/xml' });
    expect(xml.response.status).toBe(415);
  });

  it('takes Content-Encoding x-gzip as gzip, the name HTTP/1.1 keeps for it', async () => {
    const text = JSON.stringify({ batch: [viewEvent('gz', 0)] });
    const gzip = new Uint8Array(
      await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer(),
    );
    const { response, events } = await post('/v1/events', gzip, { 'content-encoding': 'x-gzip' });
    expect(response.status).toBe(202);
    expect(events.map((event) => event.messageId)).toEqual(['gz-0']);
  });
});
