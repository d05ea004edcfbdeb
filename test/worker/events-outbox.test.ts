import {
  abortAllDurableObjects,
  createExecutionContext,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  SELF,
} from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import type { RxEvent, StoredEvent } from '../../contracts/events';
import { createApp } from '../../worker/src/app';
import { retryDelaySeconds } from '../../worker/src/consumer/backoff';
import type { Env } from '../../worker/src/env';
import { enrichEvents } from '../../worker/src/events/enrich';
import {
  DELIVERY_BATCH,
  DELIVERY_BYTES,
  type EventOutbox,
  holdEvents,
  MAX_HELD_EVENTS,
  outboxShardName,
  outboxShardOf,
  SHARDS_RENOTE_MS,
} from '../../worker/src/events/outbox';
import { QUEUE_SEND_BUDGET_MS } from '../../worker/src/events/producer';
import {
  countRun,
  refusingQueue,
  runId,
  viewEvent,
  waitFor,
  waitForRunCount,
  withDb,
} from './events-support';
import { proxied } from './proxy-helpers';
import { testSource } from './proxy-test-source';

/**
 * The durable outbox (worker/src/events/outbox) with the real pieces around it: the Durable Object
 * and its SQLite storage in workerd, the local queue, the consumer, and MongoDB over the wire.
 */
const workerEnv = env as unknown as Env;
/** The outbox (shard 0, the only one unless OUTBOX_SHARDS says more), or another shard. */
const outbox = (shard = 0) => {
  const namespace = workerEnv.EVENT_OUTBOX;
  if (!namespace) throw new Error('EVENT_OUTBOX is not bound in wrangler.toml');
  return namespace.get(namespace.idFromName(outboxShardName(shard)));
};
/** Shards the sharding test uses; each test starts with all of them empty. */
const TEST_SHARDS = 3;

/** The outbox's way out refusing, as Queues does in an outage. */
const refusingDelivery = async () => {
  throw new Error('Queue send failed: service unavailable');
};

async function heldMessageIds(shard = 0): Promise<string[]> {
  return runInDurableObject(outbox(shard), (_instance: EventOutbox, state) =>
    state.storage.sql
      .exec<{ message_id: string }>('SELECT message_id FROM held_events ORDER BY seq')
      .toArray()
      .map((row) => row.message_id),
  );
}

async function storedRun(run: string): Promise<StoredEvent[]> {
  return enrichEvents(
    workerEnv,
    Array.from({ length: 3 }, (_, i) => viewEvent(run, i) as unknown as RxEvent),
  );
}

async function outboxHealth() {
  const response = await SELF.fetch('http://worker.test/healthz');
  const body = await response.json<{ components: Record<string, { status: string; detail?: string }> }>();
  return body.components.outbox;
}

beforeEach(async () => {
  // One outbox per site, so each test starts from an empty one, and from a fresh instance: one
  // whose way out is the real queue again, whatever the test before made of it.
  await abortAllDurableObjects();
  for (let shard = 0; shard < TEST_SHARDS; shard++) {
    await runInDurableObject(outbox(shard), async (_instance: EventOutbox, state) => {
      state.storage.sql.exec('DELETE FROM held_events');
      state.storage.sql.exec('DELETE FROM delivery');
      await state.storage.deleteAlarm();
    });
  }
});

afterEach(() => vi.restoreAllMocks());

describe('events outbox: a page view the queue refused is not lost', () => {
  it('holds a proxied page view the queue kept refusing, then sends it on to MongoDB', async () => {
    const sent: RxEvent[] = [];
    const { body } = await proxied(
      '/products/85123A',
      {},
      {
        deps: {
          sendEvents: async (_env, events) => {
            sent.push(...events);
            throw new Error('queue down');
          },
          source: () => testSource(),
          pageViewRetryDelaysMs: [5, 5],
        },
        env: { ORIGIN_URL: inject('demoShopUrl') },
      },
    );
    expect(body).toContain('data-rx-filled=');
    expect(sent).toHaveLength(3);
    const messageId = sent[0]?.messageId ?? '';
    expect(await heldMessageIds()).toEqual([messageId]);

    const health = await outboxHealth();
    expect(health?.status).toBe('degraded');
    expect(health?.detail).toMatch(
      /^1 event\(s\) held since \S+ while the queue refused them; next delivery /,
    );

    await runDurableObjectAlarm(outbox()); // (unless its own alarm, 2 s after the hand-over, already ran)
    const stored = await waitFor(
      () => withDb((db) => db.collection('events').findOne({ _id: messageId as never })),
      (document) => document !== null,
      30_000,
    );
    expect(stored).toMatchObject({
      type: 'track',
      event: 'Product Viewed',
      properties: { product_id: '85123A' },
      context: { source: 'rx-proxy', personalized: true },
      site: 'test',
    });
    expect(await heldMessageIds()).toEqual([]);
    expect((await outboxHealth())?.status).toBe('ok');
  });

  it('holds events posted while the queue refuses them (503 says so), and stores each once, retried or not', async () => {
    const run = runId();
    const body = JSON.stringify({ batch: [viewEvent(run, 0), viewEvent(run, 1)] });
    const post = (events: Queue<unknown>, sent = body) =>
      createApp().fetch(
        new Request('http://worker.test/v1/events', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: sent,
        }),
        { ...workerEnv, EVENTS: events },
        createExecutionContext(),
      );
    const logged = vi.spyOn(console, 'warn');
    // The request's env has the refusing queue; the outbox's own env (the object's) has the real one.
    const refused = await post(refusingQueue());
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const error = (await refused.json<{ error: { code: string; message: string } }>()).error;
    expect(error.code).toBe('queue_unavailable');
    expect(error.message).toContain('the worker holds them and queues them when the queue recovers');
    expect(await heldMessageIds()).toEqual([`${run}-0`, `${run}-1`]);
    const held = logged.mock.calls
      .map((call) => String(call[0]))
      .filter((line) => line.includes('events_held'));
    expect(held.map((line) => JSON.parse(line))).toEqual([
      { level: 'warn', event: 'events_held', events: 2, waiting: 2 },
    ]);

    // A sender that never retries: the outbox queues them.
    await runDurableObjectAlarm(outbox()); // (unless its own alarm already ran)
    expect(await waitForRunCount(run, 2, 30_000)).toBe(2);
    expect(await heldMessageIds()).toEqual([]);
    // A sender that does retry, once the queue is back: accepted, and still stored once each.
    const retried = await post(workerEnv.EVENTS);
    expect(retried.status).toBe(202);
    // A sentinel sent after it the same way: once it is stored, the consumer has had the retried
    // batch too (queued before it), so a duplicate would be in MongoDB by now.
    const sentinel = runId();
    expect((await post(workerEnv.EVENTS, JSON.stringify({ batch: [viewEvent(sentinel, 0)] }))).status).toBe(
      202,
    );
    expect(await waitForRunCount(sentinel, 1, 30_000)).toBe(1);
    expect(await countRun(run)).toBe(2);
  });

  it('a 503 for held events sent without a messageId says not to send those again (they are held under ids the worker made)', async () => {
    const run = runId();
    const { messageId: _own, ...withoutId } = viewEvent(run, 1) as Record<string, unknown>;
    const post = (batch: unknown[]) =>
      createApp().fetch(
        new Request('http://worker.test/v1/events', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        }),
        { ...workerEnv, EVENTS: refusingQueue() },
        createExecutionContext(),
      );
    const mixed = await post([viewEvent(run, 0), withoutId]);
    expect(mixed.status).toBe(503);
    const { message } = (await mixed.json<{ error: { message: string } }>()).error;
    expect(message).toContain(
      '1 of them came without a messageId and are held under ids the worker made: do not send those again',
    );
    expect(await heldMessageIds()).toHaveLength(2);
    // Every event with its own id: the usual advice alone (a retry with the same ids is harmless).
    const own = await post([viewEvent(run, 2)]);
    expect((await own.json<{ error: { message: string } }>()).error.message).not.toContain(
      'without a messageId',
    );
  });

  it('a queue that hangs instead of refusing: the intake answers 503 within its budget, the events are held and stored once, /healthz shows the queue', async () => {
    const run = runId();
    const hanging = {
      send: () => new Promise<never>(() => {}),
      sendBatch: () => new Promise<never>(() => {}),
    } as unknown as Queue<unknown>;
    const app = createApp();
    const answer = await app.fetch(
      new Request('http://worker.test/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ batch: [viewEvent(run, 0), viewEvent(run, 1)] }),
      }),
      { ...workerEnv, EVENTS: hanging },
      createExecutionContext(),
    );
    // It answered at all (the queue never does): the send's budget ended the wait, and the events were
    // handed to the outbox. /healthz below names that budget. No wall-clock check: the test's own
    // timeout catches a request that hangs.
    expect(answer.status).toBe(503);
    expect((await answer.json<{ error: { code: string } }>()).error.code).toBe('queue_unavailable');
    expect(await heldMessageIds()).toEqual([`${run}-0`, `${run}-1`]);
    const healthz = await app.fetch(
      new Request('http://worker.test/healthz'),
      workerEnv,
      createExecutionContext(),
    );
    const queue = (await healthz.json<{ components: Record<string, { status: string; detail?: string }> }>())
      .components.queue;
    expect(queue?.status).not.toBe('ok');
    expect(queue?.detail).toContain(`The EVENTS queue send took longer than ${QUEUE_SEND_BUDGET_MS} ms`);

    await runDurableObjectAlarm(outbox());
    expect(await waitForRunCount(run, 2, 30_000)).toBe(2);
    expect(await heldMessageIds()).toEqual([]);
  }, 40_000);

  it('keeps events while the queue refuses, backs off, and stores each once after', async () => {
    const run = runId();
    const events = await storedRun(run);
    await runInDurableObject(outbox(), (instance: EventOutbox) => {
      instance.deliver = refusingDelivery;
    });
    const first = await outbox().hold(events);
    expect(first).toEqual({ held: 3, alreadyHeld: 0, refused: 0, waiting: 3 });
    // Handed over again (an attempt that did reach the outbox before failing): kept once.
    expect(await outbox().hold(events.slice(0, 1))).toEqual({
      held: 0,
      alreadyHeld: 1,
      refused: 0,
      waiting: 3,
    });

    const before = Date.now();
    expect(await runDurableObjectAlarm(outbox())).toBe(true);
    const after = Date.now();
    const status = await outbox().status();
    expect(status).toMatchObject({
      waiting: 3,
      failedAttempts: 1,
      lastError: 'Error: Queue send failed: service unavailable',
    });
    // The consumer's back-off: the second attempt comes 4 s after the first failed (+ up to 20 % jitter,
    // in whole seconds: 4 or 5 s). It failed between `before` and `after`, however long the alarm took.
    const next = Date.parse(status.nextAttemptAt ?? '');
    expect(next).toBeGreaterThanOrEqual(before + retryDelaySeconds(2, () => 0) * 1000);
    expect(next).toBeLessThanOrEqual(after + retryDelaySeconds(2, () => 1) * 1000);
    expect(await heldMessageIds()).toEqual(events.map((event) => event.messageId));
    expect((await outboxHealth())?.detail).toContain('1 failed: Error: Queue send failed');

    // The object restarts (an eviction, a deploy): the events are in its storage, not its memory,
    // and the new instance sends them on the real queue.
    await abortAllDurableObjects();
    expect(await heldMessageIds()).toHaveLength(3);
    expect(await runDurableObjectAlarm(outbox())).toBe(true);
    expect(await outbox().status()).toMatchObject({
      waiting: 0,
      oldestHeldAt: null,
      failedAttempts: 0,
      nextAttemptAt: null,
      lastError: null,
    });
    expect(await waitForRunCount(run, 3, 30_000)).toBe(3);
    expect(
      await withDb((db) => db.collection('events').distinct('_id', { 'properties.run': run })),
    ).toHaveLength(3);
  });

  it('sends a backlog longer than one delivery in order, batch after batch', async () => {
    const run = runId();
    const total = DELIVERY_BATCH + 20;
    const events = await enrichEvents(
      workerEnv,
      Array.from({ length: total }, (_, i) => viewEvent(run, i) as unknown as RxEvent),
    );
    const delivered: string[][] = [];
    await runInDurableObject(outbox(), (instance: EventOutbox) => {
      const onward = instance.deliver;
      instance.deliver = async (batch) => {
        delivered.push(batch.map((event) => event.messageId));
        await onward(batch);
      };
    });
    expect((await outbox().hold(events)).waiting).toBe(total);
    await runDurableObjectAlarm(outbox());
    // The rest follows at once (its own alarm, or this one if that has not run yet).
    await runDurableObjectAlarm(outbox());
    await waitFor(
      () => outbox().status(),
      (status) => status.waiting === 0,
      10_000,
    );

    expect(delivered.map((batch) => batch.length)).toEqual([DELIVERY_BATCH, 20]);
    expect(delivered.flat()).toEqual(events.map((event) => event.messageId));
    expect(await waitForRunCount(run, total, 60_000)).toBe(total);
  });

  it('a delivery reads at most DELIVERY_BYTES of held events, so a backlog of large events is not parsed 500 at a time', async () => {
    const run = runId();
    // Events near the largest the intake takes (32 KB as sent, more once enriched): 500 of them in one
    // delivery would be tens of MB of JSON parsed at once in a 128 MB isolate.
    const padding = 'x'.repeat(60_000);
    const events = (await storedRun(run)).flatMap((event, i) =>
      Array.from({ length: 40 }, (_, j) => ({
        ...event,
        messageId: `${event.messageId}-${i}-${j}`,
        properties: { ...event.properties, padding },
      })),
    );
    const delivered: number[][] = [];
    await runInDurableObject(outbox(), (instance: EventOutbox) => {
      // Counted, not sent on: the point is what one delivery holds in memory.
      instance.deliver = async (batch) => {
        delivered.push(batch.map((event) => JSON.stringify(event).length));
      };
    });
    expect((await outbox().hold(events)).waiting).toBe(events.length);
    for (let alarm = 0; alarm < 10 && (await outbox().status()).waiting > 0; alarm++)
      await runDurableObjectAlarm(outbox());
    await waitFor(
      () => outbox().status(),
      (status) => status.waiting === 0,
      10_000,
    );

    expect(delivered.flat()).toHaveLength(events.length);
    expect(delivered.length).toBeGreaterThan(1);
    for (const batch of delivered) {
      // Each delivery stops at the first event that reaches the bound (so one event always goes).
      const total = batch.reduce((sum, bytes) => sum + bytes, 0);
      expect(total - (batch.at(-1) ?? 0)).toBeLessThan(DELIVERY_BYTES);
    }
  });

  it(`refuses events past ${MAX_HELD_EVENTS.toLocaleString('en')} held, and the caller learns it`, async () => {
    // Fill the outbox in one statement rather than 100,000 hand-overs.
    await runInDurableObject(outbox(), (_instance: EventOutbox, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO held_events (message_id, held_at, body) SELECT 'filler-' || i, 0, '{}' FROM n`,
        MAX_HELD_EVENTS,
      );
    });
    const [extra] = await storedRun(runId());
    expect(await outbox().hold([extra as StoredEvent])).toEqual({
      held: 0,
      alreadyHeld: 0,
      refused: 1,
      waiting: MAX_HELD_EVENTS,
    });
    await expect(holdEvents(workerEnv, [viewEvent(runId(), 0) as unknown as RxEvent])).rejects.toThrow(
      `The outbox is full (${MAX_HELD_EVENTS} events waiting); 1 refused`,
    );
    // Emptied before its alarm could send the filler on.
    await runInDurableObject(outbox(), async (_instance: EventOutbox, state) => {
      state.storage.sql.exec('DELETE FROM held_events');
      await state.storage.deleteAlarm();
    });
  });

  it('a hand-over that does not fit whole is not held at all: the sender is told to send it again, and no part of it is delivered', async () => {
    // One place left, three events: with a part held, "not held, retry" would be false of it, and its
    // event sent without a messageId would be stored twice (once more under the retry's fresh id).
    // Emptied at the end, pass or fail, before its alarm could send the filler on.
    onTestFinished(() =>
      runInDurableObject(outbox(), async (_instance: EventOutbox, state) => {
        state.storage.sql.exec('DELETE FROM held_events');
        await state.storage.deleteAlarm();
      }),
    );
    await runInDurableObject(outbox(), (_instance: EventOutbox, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO held_events (message_id, held_at, body) SELECT 'filler-' || i, 0, '{}' FROM n`,
        MAX_HELD_EVENTS - 1,
      );
    });
    const run = runId();
    const { messageId: _own, ...withoutId } = viewEvent(run, 0) as Record<string, unknown>;
    const errors = vi.spyOn(console, 'error');
    const answer = await createApp().fetch(
      new Request('http://worker.test/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ batch: [withoutId, viewEvent(run, 1), viewEvent(run, 2)] }),
      }),
      { ...workerEnv, EVENTS: refusingQueue() },
      createExecutionContext(),
    );
    expect(answer.status).toBe(503);
    expect((await answer.json<{ error: { message: string } }>()).error.message).toBe(
      'Events could not be queued; retry later with the same messageIds',
    );
    const notHeld = errors.mock.calls
      .map((call) => String(call[0]))
      .filter((line) => line.includes('events_not_held'));
    expect(notHeld.map((line) => JSON.parse(line))).toMatchObject([{ event: 'events_not_held', events: 3 }]);
    const heldIds = await heldMessageIds();
    expect(heldIds).toHaveLength(MAX_HELD_EVENTS - 1);
    expect(heldIds.filter((id) => !id.startsWith('filler-'))).toEqual([]);
    expect((await outbox().status()).waiting).toBe(MAX_HELD_EVENTS - 1);
    // The same directly: nothing held, all three refused. One that fits still is.
    const stored = await storedRun(run);
    expect(await outbox().hold(stored)).toEqual({
      held: 0,
      alreadyHeld: 0,
      refused: 3,
      waiting: MAX_HELD_EVENTS - 1,
    });
    expect(await outbox().hold(stored.slice(0, 1))).toEqual({
      held: 1,
      alreadyHeld: 0,
      refused: 0,
      waiting: MAX_HELD_EVENTS,
    });
    // Held already, and one more: the held one still counts once, the new one is refused.
    expect(await outbox().hold(stored.slice(0, 2))).toEqual({
      held: 0,
      alreadyHeld: 1,
      refused: 1,
      waiting: MAX_HELD_EVENTS,
    });
    expect((await heldMessageIds()).filter((id) => !id.startsWith('filler-'))).toEqual([
      stored[0]?.messageId,
    ]);
    // Emptied before its alarm could send the filler on.
    await runInDurableObject(outbox(), async (_instance: EventOutbox, state) => {
      state.storage.sql.exec('DELETE FROM held_events');
      await state.storage.deleteAlarm();
    });
  });

  it('with OUTBOX_SHARDS, hand-overs spread over the shards (a retried one to the same shard), /healthz adds them up, and every shard delivers', async () => {
    const run = runId();
    const shardedEnv = { ...workerEnv, EVENTS: refusingQueue(), OUTBOX_SHARDS: String(TEST_SHARDS) };
    const app = createApp();
    const post = (event: unknown) =>
      app.fetch(
        new Request('http://worker.test/v1/events', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ batch: [event] }),
        }),
        shardedEnv,
        createExecutionContext(),
      );
    const events = Array.from({ length: 12 }, (_, i) => viewEvent(run, i));
    for (const event of events) expect((await post(event)).status).toBe(503);
    expect((await post(events[0])).status).toBe(503); // a sender's retry: kept once

    const expected = Array.from({ length: TEST_SHARDS }, (_, shard) =>
      events
        .map((event) => event.messageId)
        .filter((id) => outboxShardOf([{ messageId: id } as StoredEvent], TEST_SHARDS) === shard),
    );
    expect(expected.filter((ids) => ids.length > 0).length).toBeGreaterThan(1); // this run does spread
    for (let shard = 0; shard < TEST_SHARDS; shard++) {
      expect(await heldMessageIds(shard)).toEqual(expected[shard]);
    }

    const healthz = await app.fetch(
      new Request('http://worker.test/healthz'),
      shardedEnv,
      createExecutionContext(),
    );
    const health = (await healthz.json<{ components: Record<string, { status: string; detail?: string }> }>())
      .components.outbox;
    expect(health?.status).toBe('degraded');
    expect(health?.detail).toMatch(/^12 event\(s\) held since /);
    expect(health?.detail).toContain(
      `${expected.filter((ids) => ids.length > 0).length} of ${TEST_SHARDS} shards hold events`,
    );

    for (let shard = 0; shard < TEST_SHARDS; shard++) await runDurableObjectAlarm(outbox(shard));
    expect(await waitForRunCount(run, 12, 30_000)).toBe(12);
    for (let shard = 0; shard < TEST_SHARDS; shard++) expect(await heldMessageIds(shard)).toEqual([]);
  });

  it('after OUTBOX_SHARDS is lowered, /healthz still counts the events the shards above it hold', async () => {
    const run = runId();
    const shardedEnv = { ...workerEnv, EVENTS: refusingQueue(), OUTBOX_SHARDS: String(TEST_SHARDS) };
    const events = Array.from({ length: 12 }, (_, i) => viewEvent(run, i) as unknown as RxEvent);
    for (const event of events) await holdEvents(shardedEnv, [event]);
    const above = events.filter(
      (event) => outboxShardOf([{ messageId: event.messageId } as StoredEvent], TEST_SHARDS) > 0,
    );
    expect(above.length).toBeGreaterThan(0); // this run does reach the shards above the first

    // The setting back to 1 (wrangler.toml's): shards 1 and 2 still hold their events, and deliver them.
    const health = await outboxHealth();
    expect(health?.status).toBe('degraded');
    expect(health?.detail).toMatch(/^12 event\(s\) held since /);
    expect(health?.detail).toContain(`of ${TEST_SHARDS} shards hold events (OUTBOX_SHARDS is 1;`);
  });

  it('once the shards above OUTBOX_SHARDS hold nothing and no hand-over used them lately, /healthz asks only OUTBOX_SHARDS shards again', async () => {
    const run = runId();
    const shardedEnv = { ...workerEnv, EVENTS: refusingQueue(), OUTBOX_SHARDS: String(TEST_SHARDS) };
    const events = Array.from({ length: 12 }, (_, i) => viewEvent(run, i) as unknown as RxEvent);
    for (const event of events) await holdEvents(shardedEnv, [event]);
    const noted = () =>
      runInDurableObject(outbox(0), (_instance: EventOutbox, state) =>
        state.storage.sql
          .exec<{ highest: number; noted_at: number }>('SELECT highest, noted_at FROM shards_used')
          .toArray(),
      );
    expect((await noted()).map((row) => row.highest)).toEqual([TEST_SHARDS]);
    const age = async () => {
      const longAgo = Date.now() - 2 * SHARDS_RENOTE_MS - 1_000;
      await runInDurableObject(outbox(0), (_instance: EventOutbox, state) => {
        state.storage.sql.exec('UPDATE shards_used SET noted_at = ?', longAgo);
      });
    };
    // Noted long ago, but a shard above still holds events: kept, and counted.
    await age();
    expect((await outboxHealth())?.detail).toMatch(/^12 event\(s\) held since /);
    expect((await noted()).map((row) => row.highest)).toEqual([TEST_SHARDS]);

    // The shards above delivered theirs: forgotten; /healthz asks shard 0 alone, as OUTBOX_SHARDS says.
    for (let shard = 1; shard < TEST_SHARDS; shard++) {
      await runInDurableObject(outbox(shard), (_instance: EventOutbox, state) => {
        state.storage.sql.exec('DELETE FROM held_events');
      });
      await abortAllDurableObjects(); // a fresh instance counts its events again
    }
    const left = (await heldMessageIds(0)).length;
    const health = await outboxHealth();
    expect(health?.status).toBe(left > 0 ? 'degraded' : 'ok');
    expect(health?.detail ?? '').not.toContain('shards hold events');
    expect(await noted()).toEqual([]);
  });

  it('without the binding, a hand-over fails by name (the proxy then logs the event as lost)', async () => {
    await expect(
      holdEvents({ ...workerEnv, EVENT_OUTBOX: undefined }, [viewEvent(runId(), 0) as unknown as RxEvent]),
    ).rejects.toThrow('EVENT_OUTBOX is not bound (wrangler.toml)');
  });
});

describe('events outbox: when it delivers, and what it forgets', () => {
  // During an outage every proxied page view is a hand-over: if each one scheduled the delivery anew
  // (now + the first back-off), a shop with a page view every second or two would never deliver.
  it('a hand-over leaves a delivery already scheduled where it is', async () => {
    const events = await storedRun(runId());
    const scheduled = Date.now() + 60_000;
    await runInDurableObject(outbox(), async (instance: EventOutbox, state) => {
      instance.deliver = refusingDelivery;
      await state.storage.setAlarm(scheduled);
    });
    expect(await outbox().hold(events)).toMatchObject({ held: 3, waiting: 3 });
    expect(
      await runInDurableObject(outbox(), (_instance: EventOutbox, state) => state.storage.getAlarm()),
    ).toBe(scheduled);
  });

  it('backs off further with each delivery that fails in a row (2 s doubling, as the consumer)', async () => {
    await runInDurableObject(outbox(), (instance: EventOutbox) => {
      instance.deliver = refusingDelivery;
    });
    await outbox().hold(await storedRun(runId()));
    expect(await runDurableObjectAlarm(outbox())).toBe(true);
    const before = Date.now();
    expect(await runDurableObjectAlarm(outbox())).toBe(true);
    const after = Date.now();
    const status = await outbox().status();
    expect(status.failedAttempts).toBe(2);
    // The third attempt 8 s after the second failed (+ up to 20 % jitter), not the second's 4 s again.
    const next = Date.parse(status.nextAttemptAt ?? '');
    expect(next).toBeGreaterThanOrEqual(before + retryDelaySeconds(3, () => 0) * 1000);
    expect(next).toBeLessThanOrEqual(after + retryDelaySeconds(3, () => 1) * 1000);
  });

  // /healthz reads the record, then asks to forget it; a hand-over noted in between must not be lost.
  it('forgetShards changes nothing when a hand-over noted the count since it was read', async () => {
    await runInDurableObject(outbox(0), async (instance: EventOutbox, state) => {
      onTestFinished(async () => {
        await runInDurableObject(outbox(0), (_i: EventOutbox, s) => {
          s.storage.sql.exec('DELETE FROM shards_used');
        });
      });
      const rows = () =>
        state.storage.sql
          .exec<{ highest: number; noted_at: number }>('SELECT highest, noted_at FROM shards_used')
          .toArray();
      state.storage.sql.exec('DELETE FROM shards_used');
      await instance.noteShards(3);
      const read = 1_000;
      state.storage.sql.exec('UPDATE shards_used SET noted_at = ?', read + 5_000); // noted since the read
      await instance.forgetShards(2, read);
      await instance.forgetShards(1, read);
      expect(rows()).toEqual([{ highest: 3, noted_at: read + 5_000 }]);
      // Read again, nothing noted since: lowered, then gone.
      await instance.forgetShards(2, read + 5_000);
      expect(rows()).toEqual([{ highest: 2, noted_at: read + 5_000 }]);
      await instance.forgetShards(1, read + 5_000);
      expect(rows()).toEqual([]);
    });
  });
});
