/**
 * The consumer's Redis side effects (worker/src/activity/) against the local Upstash-compatible server
 * on a real redis-server (started by test/support/edge-api.global-setup.ts), with MongoDB written
 * through the real driver: recent activity, purchases, the cache generation, what the next
 * /v1/recommendations shows, and Redis down not failing the MongoDB write.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ACTIVITY_DAYS_DEFAULT, ACTIVITY_DAYS_SIGNED_IN_DEFAULT } from '../../contracts/activity';
import type { StoredEvent } from '../../contracts/events';
import { RECENT_HEAD } from '../../worker/src/activity';
import { ACTIVITY_MAX, activityKey, generationKey, purchasesKey } from '../../worker/src/cache/keys';
import { handleEventBatch } from '../../worker/src/consumer';
import { isLastAttempt, MAX_RETRIES } from '../../worker/src/consumer/backoff';
import type { WriteRequest, WriteResult } from '../../worker/src/consumer/event-writer';
import { packEvents } from '../../worker/src/events/event-pack';
import { reportRecovery } from '../../worker/src/health';
import worker from '../../worker/src/index';
import {
  call,
  consume,
  directRedis,
  edgeEnv,
  newShopper,
  productId,
  provided,
  recommend,
  SITE,
  userHashOf,
  warmIsolate,
} from './edge-api-support';
import { countRun, runId, withDb, writerWith } from './events-support';

/** An enriched event as the producer queues it, for shopper `anonymousId`. */
function stored(
  run: string,
  index: number,
  anonymousId: string,
  fields: Partial<StoredEvent> & Pick<StoredEvent, 'event'>,
): StoredEvent {
  return {
    type: 'track',
    messageId: `${run}-${index}`,
    anonymousId,
    timestamp: new Date(Date.UTC(2024, 4, 1, 12, 0, index)).toISOString(),
    receivedAt: new Date().toISOString(),
    site: SITE,
    bucket: 'treatment',
    model_version: null,
    ...fields,
    properties: { run, ...fields.properties },
  };
}

async function activityOf(hash: string): Promise<Array<{ product_id: string; kind: string; at: number }>> {
  const raw = await directRedis().lrange(activityKey(SITE, hash), 0, -1);
  return raw.map((entry) => JSON.parse(String(entry)));
}

/** The key expires about `days` from now (a minute of slack for the test's own time). */
async function expectLifetime(key: string, days: number): Promise<void> {
  const ttl = await directRedis().ttl(key);
  expect(ttl).toBeGreaterThan(days * 86_400 - 60);
  expect(ttl).toBeLessThanOrEqual(days * 86_400);
}

/** The platform's redelivery of `events` (a delivery before it died or retried them): attempts 2. */
async function redeliver(events: StoredEvent[]) {
  const batch = createMessageBatch(
    'rx-events',
    events.map((body, i) => ({ id: `${body.messageId}-q${i}`, timestamp: new Date(), attempts: 2, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, edgeEnv());
  return getQueueResult(batch, ctx);
}

async function generationOf(hash: string): Promise<number> {
  return Number((await directRedis().get(generationKey(SITE, hash))) ?? 0);
}

beforeAll(warmIsolate, 60_000);

describe('consumer side effects in Redis (local Upstash on redis-server)', () => {
  it('a Product Viewed adds to recent activity under the anonymous and the user hash, bumps the generation, sets a TTL', async () => {
    const run = runId();
    const shopper = await newShopper();
    const userId = `user-${run}`;
    const userHashValue = await userHashOf(userId);
    const result = await consume([
      stored(run, 1, shopper.id, { event: 'Product Viewed', userId, properties: { product_id: 'P-A' } }),
      stored(run, 2, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P-B' } }),
    ]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(await countRun(run)).toBe(2);

    // Newest first; `at` is the event's own timestamp.
    expect(await activityOf(shopper.hash)).toEqual([
      { product_id: 'P-B', kind: 'view', at: Date.UTC(2024, 4, 1, 12, 0, 2) },
      { product_id: 'P-A', kind: 'view', at: Date.UTC(2024, 4, 1, 12, 0, 1) },
    ]);
    expect(await activityOf(userHashValue)).toEqual([
      { product_id: 'P-A', kind: 'view', at: Date.UTC(2024, 4, 1, 12, 0, 1) },
    ]);
    expect(await generationOf(shopper.hash)).toBe(1); // one pipeline per batch: one bump
    // An anonymous shopper's keys live ACTIVITY_DAYS (30) after their last event, a signed-in one's
    // ACTIVITY_DAYS_SIGNED_IN (365): most customers come back after more than a month.
    await expectLifetime(activityKey(SITE, shopper.hash), ACTIVITY_DAYS_DEFAULT);
    await expectLifetime(generationKey(SITE, shopper.hash), ACTIVITY_DAYS_DEFAULT);
    await expectLifetime(activityKey(SITE, userHashValue), ACTIVITY_DAYS_SIGNED_IN_DEFAULT);
    await expectLifetime(generationKey(SITE, userHashValue), ACTIVITY_DAYS_SIGNED_IN_DEFAULT);
    // Keys carry only hashes, never the raw ids.
    const keys = await directRedis().keys(`rx:${SITE}:*${shopper.hash}`);
    expect(keys.length).toBeGreaterThan(0);
    expect(
      (await directRedis().keys(`*${shopper.id}*`)).concat(await directRedis().keys(`*${userId}*`)),
    ).toEqual([]);
  });

  it('ACTIVITY_DAYS and ACTIVITY_DAYS_SIGNED_IN set how long the keys live, purchases included', async () => {
    const run = runId();
    const shopper = await newShopper();
    const userId = `user-${run}`;
    const userHashValue = await userHashOf(userId);
    const env = { ...edgeEnv(), ACTIVITY_DAYS: '7', ACTIVITY_DAYS_SIGNED_IN: '90' };
    const result = await consume(
      [
        stored(run, 1, shopper.id, {
          event: 'Order Completed',
          userId,
          properties: { order_id: `o-${run}`, products: [{ product_id: 'P-A' }] },
        }),
      ],
      env,
    );
    expect(result.explicitAcks).toHaveLength(1);
    for (const key of [activityKey, purchasesKey, generationKey]) {
      await expectLifetime(key(SITE, shopper.hash), 7);
      await expectLifetime(key(SITE, userHashValue), 90);
    }
  });

  it('the purchases live as long as the generation: renewed by browsing that changes the recommendations, not by a re-view', async () => {
    const run = runId();
    const shopper = await newShopper();
    const key = purchasesKey(SITE, shopper.hash);
    const generation = generationKey(SITE, shopper.hash);
    await consume([
      stored(run, 1, shopper.id, {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, products: [{ product_id: 'P-A' }] },
      }),
    ]);
    // As if the purchase were long ago: the set has an hour left, the shopper is still browsing.
    await directRedis().expire(key, 3_600);
    await directRedis().expire(generation, 3_600);
    await consume([
      stored(run, 2, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P-B' } }),
    ]);
    await expectLifetime(key, ACTIVITY_DAYS_DEFAULT);
    await expectLifetime(generation, ACTIVITY_DAYS_DEFAULT);
    expect((await directRedis().smembers(key)).map(String)).toEqual(['P-A']);

    // Viewing P-B again (among the newest entries) changes nothing: neither key is renewed.
    await directRedis().expire(key, 3_600);
    await directRedis().expire(generation, 3_600);
    await consume([
      stored(run, 3, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P-B' } }),
    ]);
    for (const renewed of [key, generation])
      expect(await directRedis().ttl(renewed)).toBeLessThanOrEqual(3_600);
    await expectLifetime(activityKey(SITE, shopper.hash), ACTIVITY_DAYS_DEFAULT);
  });

  it('a lifetime past what Redis takes is the bound: the keys still expire', async () => {
    const run = runId();
    const shopper = await newShopper();
    const userId = `user-${run}`;
    const userHashValue = await userHashOf(userId);
    // 1e12 days: Redis refuses that EXPIRE ("invalid expire time"), which left the keys without one.
    const env = { ...edgeEnv(), ACTIVITY_DAYS_SIGNED_IN: '1e12' };
    const event = stored(run, 1, shopper.id, {
      event: 'Product Added',
      userId,
      properties: { product_id: 'P-A' },
    });
    expect((await consume([event], env)).explicitAcks).toHaveLength(1);
    for (const key of [activityKey, generationKey]) {
      await expectLifetime(key(SITE, userHashValue), 36_500);
      await expectLifetime(key(SITE, shopper.hash), ACTIVITY_DAYS_DEFAULT);
    }
  });

  it(`keeps at most ${ACTIVITY_MAX} entries, the newest`, async () => {
    const run = runId();
    const shopper = await newShopper();
    const events = Array.from({ length: ACTIVITY_MAX + 5 }, (_, i) =>
      stored(run, i, shopper.id, { event: 'Product Viewed', properties: { product_id: `P${i}` } }),
    );
    expect((await consume(events)).explicitAcks).toHaveLength(ACTIVITY_MAX + 5);
    const activity = await activityOf(shopper.hash);
    expect(activity).toHaveLength(ACTIVITY_MAX);
    expect(activity[0]?.product_id).toBe(`P${ACTIVITY_MAX + 4}`);
    expect(activity.at(-1)?.product_id).toBe('P5');

    // A full list and one more event in a later batch: LPUSH answers ACTIVITY_MAX + 1, so it is trimmed.
    const next = stored(run, ACTIVITY_MAX + 5, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-NEXT' },
    });
    expect((await consume([next])).explicitAcks).toHaveLength(1);
    const after = await activityOf(shopper.hash);
    expect(after).toHaveLength(ACTIVITY_MAX);
    expect(after[0]?.product_id).toBe('P-NEXT');
    expect(after.at(-1)?.product_id).toBe('P6');
  });

  it('an Order Completed records every product bought and bumps the generation; page and list events change nothing', async () => {
    const run = runId();
    const shopper = await newShopper();
    await consume([
      stored(run, 1, shopper.id, {
        event: 'Order Completed',
        properties: {
          order_id: `o-${run}`,
          products: [
            { product_id: 'P-X', quantity: 1 },
            { product_id: 'P-Y', quantity: 2 },
          ],
        },
      }),
    ]);
    const purchases = (await directRedis().smembers(purchasesKey(SITE, shopper.hash))).map(String).sort();
    expect(purchases).toEqual(['P-X', 'P-Y']);
    expect((await activityOf(shopper.hash)).map((e) => [e.product_id, e.kind]).sort()).toEqual([
      ['P-X', 'purchase'],
      ['P-Y', 'purchase'],
    ]);
    expect(await generationOf(shopper.hash)).toBe(1);

    await consume([
      stored(run, 2, shopper.id, {
        event: 'Product List Viewed',
        properties: { products: [{ product_id: 'P-Z' }] },
      }),
      { ...stored(run, 3, shopper.id, { event: undefined }), type: 'page', name: 'Home' },
    ]);
    expect(await generationOf(shopper.hash)).toBe(1);
    expect(await activityOf(shopper.hash)).toHaveLength(2);
    expect(await countRun(run)).toBe(3);
  });

  it('an order line of quantity 0 is no purchase: that product may still be offered, as the trainer reads it', async () => {
    const run = runId();
    const shopper = await newShopper();
    await consume([
      stored(run, 1, shopper.id, {
        event: 'Order Completed',
        properties: {
          order_id: `o-${run}`,
          products: [
            { product_id: 'P-X', quantity: 1 },
            { product_id: 'P-Y', quantity: 0 },
            { product_id: 'P-Z' },
          ],
        },
      }),
    ]);
    // Before: P-Y was a purchase too, never recommended to this shopper again.
    const purchases = (await directRedis().smembers(purchasesKey(SITE, shopper.hash))).map(String).sort();
    expect(purchases).toEqual(['P-X', 'P-Z']);
    expect((await activityOf(shopper.hash)).map((e) => [e.product_id, e.kind]).sort()).toEqual([
      ['P-X', 'purchase'],
      ['P-Z', 'purchase'],
    ]);
    expect(await generationOf(shopper.hash)).toBe(1);

    // An order of nothing but a quantity-0 line changes nothing (the trainer keeps no interaction of it).
    const other = await newShopper();
    await consume([
      stored(run, 2, other.id, {
        event: 'Order Completed',
        properties: { order_id: `o2-${run}`, products: [{ product_id: 'P-W', quantity: 0 }] },
      }),
    ]);
    expect(await directRedis().smembers(purchasesKey(SITE, other.hash))).toEqual([]);
    expect(await activityOf(other.hash)).toEqual([]);
    expect(await generationOf(other.hash)).toBe(0);
    expect(await countRun(run)).toBe(2);
  });

  it('a cancellation (an Order Completed worth less than 0) records no purchase: its products may still be offered', async () => {
    const run = runId();
    const shopper = await newShopper();
    await consume([
      stored(run, 1, shopper.id, {
        event: 'Order Completed',
        properties: { order_id: `C-${run}`, revenue: -25.5, products: [{ product_id: 'P-X', quantity: 1 }] },
      }),
    ]);
    expect(await countRun(run)).toBe(1);
    expect(await directRedis().smembers(purchasesKey(SITE, shopper.hash))).toEqual([]);
    expect(await activityOf(shopper.hash)).toEqual([]);
    expect(await generationOf(shopper.hash)).toBe(0);
  });

  it("an event named after one of Object's own members records nothing and keeps the cache", async () => {
    const run = runId();
    const shopper = await newShopper();
    await consume([
      stored(run, 1, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P-1' } }),
    ]);
    expect(await generationOf(shopper.hash)).toBe(1);
    await consume(
      ['constructor', 'toString', '__proto__', 'valueOf'].map((event, i) =>
        stored(run, i + 2, shopper.id, { event, properties: { product_id: `P-${event}` } }),
      ),
    );
    // Stored as sent (any name is an event), but no entry, purchase or generation bump in Redis.
    expect(await countRun(run)).toBe(5);
    expect((await activityOf(shopper.hash)).map((e) => [e.product_id, e.kind])).toEqual([['P-1', 'view']]);
    expect(await generationOf(shopper.hash)).toBe(1);
  });

  it('the acks come after the Redis writes: a consumer dying between them is redelivered, and the activity written again', async () => {
    const run = runId();
    const shopper = await newShopper();
    const events = [
      stored(run, 1, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P-ACK' } }),
    ];
    const batch = createMessageBatch(
      'rx-events',
      events.map((body, i) => ({ id: `${body.messageId}-q${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    let seenBeforeAcks: string[] = [];
    const dying = handleEventBatch(batch, edgeEnv(), {
      beforeAcks: async () => {
        seenBeforeAcks = (await activityOf(shopper.hash)).map((entry) => entry.product_id);
        throw new Error('simulated death after the Redis writes');
      },
    });
    await expect(dying).rejects.toThrow('simulated death');
    expect(seenBeforeAcks).toEqual(['P-ACK']);
    // Nothing acked, so the platform redelivers the batch.
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual([]);

    // As if the activity had been lost with the dead invocation: the redelivery writes it again.
    await directRedis().del(activityKey(SITE, shopper.hash));
    const redelivered = await redeliver(events);
    expect(redelivered.explicitAcks).toHaveLength(1);
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-ACK']);
    expect(await countRun(run)).toBe(1);
  });

  it('a batch redelivered after its Redis writes (the consumer died before its acks) leaves the activity as the first delivery did', async () => {
    const run = runId();
    const shopper = await newShopper();
    const userId = `user-${run}`;
    const userHashValue = await userHashOf(userId);
    const events = [
      stored(run, 1, shopper.id, { event: 'Product Viewed', userId, properties: { product_id: 'P-RE' } }),
      stored(run, 2, shopper.id, {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, products: [{ product_id: 'P-RB', quantity: 1 }] },
      }),
    ];
    const batch = createMessageBatch(
      'rx-events',
      events.map((body, i) => ({ id: `${body.messageId}-q${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    await expect(
      handleEventBatch(batch, edgeEnv(), {
        beforeAcks: () => {
          throw new Error('simulated death after the Redis writes');
        },
      }),
    ).rejects.toThrow('simulated death');
    const anonymous = await activityOf(shopper.hash);
    const user = await activityOf(userHashValue);
    expect(anonymous.map((entry) => entry.product_id)).toEqual(['P-RB', 'P-RE']);
    expect(user.map((entry) => entry.product_id)).toEqual(['P-RE']);

    // The redelivery finds both events stored by its first delivery, which may or may not have reached
    // Redis: here it did, so nothing is pushed again (the list would hold each entry twice, crowding out
    // older history and the RECENT_HEAD check). Twice, as a redelivery can itself die before its acks.
    for (const attempts of [2, 3]) {
      const again = createMessageBatch(
        'rx-events',
        events.map((body, i) => ({ id: `${body.messageId}-q${i}`, timestamp: new Date(), attempts, body })),
      );
      await handleEventBatch(again, edgeEnv());
      expect((await getQueueResult(again, createExecutionContext())).explicitAcks).toHaveLength(2);
      expect(await activityOf(shopper.hash)).toEqual(anonymous);
      expect(await activityOf(userHashValue)).toEqual(user);
    }
    expect((await directRedis().smembers(purchasesKey(SITE, shopper.hash))).map(String)).toEqual(['P-RB']);
    expect(await countRun(run)).toBe(2);
  });

  it('a redelivery whose first delivery pushed part of a shopper’s entries (one trimmed out since) pushes only the missing ones', async () => {
    const run = runId();
    const shopper = await newShopper();
    const first = stored(run, 1, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P-K1' } });
    const second = stored(run, 2, shopper.id, { event: 'Product Added', properties: { product_id: 'P-K2' } });
    await consume([first, second]);
    // As if the first delivery's push had not reached this list for P-K2 (or it had been trimmed).
    await directRedis().lrem(
      activityKey(SITE, shopper.hash),
      0,
      JSON.stringify((await activityOf(shopper.hash))[0]),
    );
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-K1']);
    const again = await redeliver([first, second]);
    expect(again.explicitAcks).toHaveLength(2);
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-K2', 'P-K1']);
  });

  it('a push Upstash ran but whose answer was lost is not sent again: the entry is there once', async () => {
    const run = runId();
    const shopper = await newShopper();
    const event = stored(run, 1, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-LOST' },
    });
    // The connection drops after Upstash ran the batch's first pipeline (the head read and the push),
    // before its answer came back: workerd's fetch then rejects ("Network connection lost.").
    const realFetch = globalThis.fetch;
    let dropped = false;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const response = await realFetch(input, init);
      if (!dropped && typeof init?.body === 'string' && init.body.includes('"lpush"')) {
        dropped = true;
        await response.arrayBuffer();
        throw new TypeError('Network connection lost.');
      }
      return response;
    });
    try {
      const result = await consume([event]);
      expect(result.explicitAcks).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    expect(dropped).toBe(true);
    // Pushed once: a retry of the pipeline would push the batch's entries again (and read the head after
    // the first push, finding the product there, so no generation bump either).
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-LOST']);
  });

  it('a URL the Upstash client refuses never holds a batch: its events are stored and acked', async () => {
    const run = runId();
    const shopper = await newShopper();
    const event = stored(run, 1, shopper.id, { event: 'Product Added', properties: { product_id: 'P-U' } });
    // @upstash/redis throws when made with a URL without scheme: that must not reach the acks.
    const result = await consume([event], edgeEnv({ UPSTASH_REDIS_REST_URL: 'eu1-marker.upstash.io' }));
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(await countRun(run)).toBe(1);
  });

  it('a redelivered batch (at-least-once) still reaches Redis: duplicates in MongoDB are not skipped', async () => {
    const run = runId();
    const shopper = await newShopper();
    const event = stored(run, 1, shopper.id, { event: 'Product Added', properties: { product_id: 'P-C' } });
    // The first delivery stored the document and died before its Redis writes (here: Redis unreachable,
    // as if they were lost with it); the redelivery must still record the activity.
    await consume([event], edgeEnv({ UPSTASH_REDIS_REST_URL: provided().deadUpstashUrl }));
    expect(await activityOf(shopper.hash)).toEqual([]);
    const again = await redeliver([event]);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await countRun(run)).toBe(1);
    expect((await activityOf(shopper.hash)).map((e) => e.kind)).toEqual(['cart']);
  });

  it('an event sent twice (the storefront script sends a batch again when its page closed before the answer) is pushed once', async () => {
    const run = runId();
    const shopper = await newShopper();
    const first = stored(run, 1, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-TWICE' },
    });
    const next = stored(run, 2, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-NEXT' },
    });
    await consume([first]);
    const before = await generationOf(shopper.hash);
    // The same event again, in a new queue message (its first delivery), with a new one after it.
    const again = await consume([first, next]);
    expect(again.explicitAcks).toHaveLength(2);
    expect(await countRun(run)).toBe(2);
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-NEXT', 'P-TWICE']);
    expect(await generationOf(shopper.hash)).toBe(before + 1);
  });

  it('an event sent again by a new request, whose queue message is redelivered, is pushed once', async () => {
    const run = runId();
    const shopper = await newShopper();
    const first = stored(run, 1, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-RESENT' },
    });
    await consume([first]);
    // The storefront script sends the batch again (a new request: its own receivedAt), and that
    // message's first delivery was retried (MongoDB slow): this is its redelivery.
    const resent = { ...first, receivedAt: new Date(Date.parse(first.receivedAt) + 1_500).toISOString() };
    const again = await redeliver([resent]);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await countRun(run)).toBe(1);
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-RESENT']);
  });

  it('the same enriched event in a second queue message (an outbox resend), whose first delivery died after the write, is pushed once', async () => {
    const run = runId();
    const shopper = await newShopper();
    const event = stored(run, 1, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-COPY' },
    });
    await consume([event]);
    const copy = (attempts: number) =>
      createMessageBatch('rx-events', [{ id: `${run}-copy`, timestamp: new Date(), attempts, body: event }]);
    await expect(
      handleEventBatch(copy(1), edgeEnv(), {
        afterWrite: () => {
          throw new Error('simulated death');
        },
      }),
    ).rejects.toThrow('simulated death');
    const again = copy(2);
    await handleEventBatch(again, edgeEnv());
    expect((await getQueueResult(again, createExecutionContext())).explicitAcks).toHaveLength(1);
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-COPY']);
  });

  it('a pack holding the same event twice (one request sent it twice), whose first delivery died after the write, is pushed once', async () => {
    const run = runId();
    const shopper = await newShopper();
    const event = stored(run, 1, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-TWIN' },
    });
    const body = packEvents([event, event])[0]?.body;
    const delivery = (attempts: number) =>
      createMessageBatch('rx-events', [{ id: `${run}-twin`, timestamp: new Date(), attempts, body }]);
    await expect(
      handleEventBatch(delivery(1), edgeEnv(), {
        afterWrite: () => {
          throw new Error('simulated death');
        },
      }),
    ).rejects.toThrow('simulated death');
    const again = delivery(2);
    await handleEventBatch(again, edgeEnv());
    expect((await getQueueResult(again, createExecutionContext())).explicitAcks).toHaveLength(1);
    expect(await countRun(run)).toBe(1);
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-TWIN']);
  });

  it('a pack retried till the dead-letter queue for one event records the activity of the others on its last delivery, once', async () => {
    const run = runId();
    const shopper = await newShopper();
    const viewed = stored(run, 1, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-DLQ' },
    });
    const stuck = stored(run, 2, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-STUCK' },
    });
    // The real writer, but MongoDB answers `stuck` with a code not known to be permanent, every time.
    const { real, env } = writerWith(
      `dlq-activity-${run}`,
      async (request: WriteRequest): Promise<WriteResult> => {
        const kept = request.events.flatMap((event, index) =>
          event.messageId === stuck.messageId ? [] : [{ event, redelivered: request.redelivered?.[index] }],
        );
        const written = await real.write({
          events: kept.map(({ event }) => event),
          rejected: request.rejected,
          redelivered: kept.map(({ redelivered }) => redelivered === true),
        });
        let next = 0;
        return {
          ...written,
          events: request.events.map((event) => {
            if (event.messageId === stuck.messageId)
              return { kind: 'retry', reason: 'MongoDB error 292: query exceeded memory limit' };
            next += 1;
            return written.events[next - 1] ?? { kind: 'retry', reason: 'no outcome' };
          }),
        };
      },
      edgeEnv(),
    );
    const body = packEvents([viewed, stuck])[0]?.body;
    for (const attempts of [1, 2, MAX_RETRIES + 1]) {
      const batch = createMessageBatch('rx-events', [
        { id: `${run}-m`, timestamp: new Date(), attempts, body },
      ]);
      await handleEventBatch(batch, env);
      expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toHaveLength(1);
      // Retried with deliveries to come: the activity waits for the one that ends the message.
      const expected = isLastAttempt(attempts) ? ['P-DLQ'] : [];
      expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(expected);
    }
    expect(await countRun(run)).toBe(1);
  });

  // At least once: a redelivery's duplicate whose stored copy could not be read (sameIntake unknown) may be
  // the one its dead first delivery stored before its Redis writes, so its activity is written; only a copy
  // known to come from another request (sameIntake false) is an event sent twice and skipped.
  it('a redelivered duplicate whose stored copy could not be read is taken as its own: its activity is written', async () => {
    const run = runId();
    const shopper = await newShopper();
    const unknown = stored(run, 1, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-UNKNOWN' },
    });
    const other = stored(run, 2, shopper.id, {
      event: 'Product Viewed',
      properties: { product_id: 'P-OTHER' },
    });
    const { env } = writerWith(
      `same-intake-unknown-${run}`,
      async (request: WriteRequest): Promise<WriteResult> => ({
        events: request.events.map((event) =>
          event.messageId === unknown.messageId
            ? { kind: 'duplicate' }
            : { kind: 'duplicate', sameIntake: false },
        ),
        rejected: [],
      }),
      edgeEnv(),
    );
    const batch = createMessageBatch('rx-events', [
      { id: `${run}-m`, timestamp: new Date(), attempts: 2, body: packEvents([unknown, other])[0]?.body },
    ]);
    await handleEventBatch(batch, env);
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual([`${run}-m`]);
    expect((await activityOf(shopper.hash)).map((entry) => entry.product_id)).toEqual(['P-UNKNOWN']);
  });

  it('after an Order Completed the next /v1/recommendations (cached before) no longer shows the item bought', async () => {
    const shopper = await newShopper();
    const query = 'placement=home&limit=4';
    const first = await recommend(query, { cookie: shopper.cookie });
    expect(first.response.status).toBe(200);
    const bought = first.body.items[0]?.product_id;
    expect(bought).toBeDefined();
    const cached = await recommend(query, { cookie: shopper.cookie });
    expect(cached.body.cached).toBe(true);
    expect(cached.body.items.map((item) => item.product_id)).toContain(bought);

    const run = runId();
    await consume([
      stored(run, 1, shopper.id, {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, products: [{ product_id: bought, quantity: 1 }] },
      }),
    ]);

    const after = await recommend(query, { cookie: shopper.cookie });
    expect(after.body.cached).toBe(false);
    expect(after.body.items.map((item) => item.product_id)).not.toContain(bought);
    expect(after.body.items.length).toBeGreaterThan(0);
  });

  it("a logged-in shopper's cached list is recomputed after guest events on their browser (no user id on them)", async () => {
    const shopper = await newShopper();
    const userId = `user-${runId()}`;
    const query = `placement=home&limit=4&user_id=${encodeURIComponent(userId)}`;
    const first = await recommend(query, { cookie: shopper.cookie });
    expect(first.body.cached).toBe(false);
    expect((await recommend(query, { cookie: shopper.cookie })).body.cached).toBe(true);

    // Logged out on this browser (or before logging in): the events carry the anonymous id only, so
    // they bump only the anonymous session's generation, not the user's.
    const run = runId();
    const userHashValue = await userHashOf(userId);
    const userGeneration = await generationOf(userHashValue);
    await consume([
      stored(run, 1, shopper.id, { event: 'Product Added', properties: { product_id: productId(2) } }),
    ]);
    expect(await generationOf(userHashValue)).toBe(userGeneration);
    expect(await generationOf(shopper.hash)).toBe(1);

    const after = await recommend(query, { cookie: shopper.cookie });
    expect(after.body.cached).toBe(false);
    // The same user on another browser (whose session is at generation 1 too, after one guest event of
    // its own) does not get the list computed with this browser's session either.
    const otherBrowser = await newShopper();
    await consume([
      stored(run, 2, otherBrowser.id, { event: 'Product Added', properties: { product_id: productId(5) } }),
    ]);
    expect(await generationOf(otherBrowser.hash)).toBe(1);
    expect((await recommend(query, { cookie: otherBrowser.cookie })).body.cached).toBe(false);
    expect((await recommend(query, { cookie: otherBrowser.cookie })).body.cached).toBe(true);
  });

  it('a cart slot naming no products shows complements of the cart the events built: removed items leave it, its items are never offered', async () => {
    const shopper = await newShopper();
    // Two products of the bundle being served.
    const home = await recommend('placement=home&limit=2', { cookie: (await newShopper()).cookie });
    const [kept, removed] = home.body.items.map((item) => item.product_id);
    if (kept === undefined || removed === undefined) throw new Error('expected two items');
    const run = runId();
    let index = 0;
    const event = (name: string, product: string) =>
      stored(run, index++, shopper.id, { event: name, properties: { product_id: product } });
    // Both in the cart, one taken out again.
    await consume([event('Product Added', kept), event('Product Added', removed)]);
    await consume([event('Product Removed', removed)]);
    expect((await activityOf(shopper.hash)).map((e) => `${e.kind} ${e.product_id}`)).toEqual([
      `removed ${removed}`,
      `cart ${removed}`,
      `cart ${kept}`,
    ]);

    const fromEvents = await recommend('placement=cart&limit=4', { cookie: shopper.cookie });
    expect(fromEvents.body.source).toBe('complements');
    const ids = fromEvents.body.items.map((item) => item.product_id);
    expect(ids).toHaveLength(4);
    expect(ids).not.toContain(kept);
    // The same answer as a page naming the cart it holds now: the removed product is not in it.
    const named = await recommend(`placement=cart&product_ids=${encodeURIComponent(kept)}&limit=4`, {
      cookie: (await newShopper()).cookie,
    });
    expect(ids).toEqual(named.body.items.map((item) => item.product_id));

    // An order ends the cart: with nothing added since, the slot has no cart to complement.
    await consume([
      stored(run, index++, shopper.id, {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, products: [{ product_id: kept, quantity: 1 }] },
      }),
    ]);
    const afterOrder = await recommend('placement=cart&limit=4', { cookie: shopper.cookie });
    expect(afterOrder.body.source).not.toBe('complements');
    expect(afterOrder.body.items.map((item) => item.product_id)).not.toContain(kept);
  });

  it('Redis down: every event is still stored in MongoDB and acked, the failure shows in /healthz, and clears', async () => {
    const run = runId();
    const shopper = await newShopper();
    const down = edgeEnv({ UPSTASH_REDIS_REST_URL: provided().deadUpstashUrl });
    const events = Array.from({ length: 10 }, (_, i) =>
      stored(run, i, shopper.id, { event: 'Product Viewed', properties: { product_id: `P${i}` } }),
    );
    const result = await consume(events, down);
    expect(result.explicitAcks).toHaveLength(10);
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    expect(await countRun(run)).toBe(10);
    const ids = await withDb((db) => db.collection('events').distinct('_id', { 'properties.run': run }));
    expect(ids).toHaveLength(10);

    type Health = { components: Record<string, { status: string; detail?: string }> };
    const degraded = (await (await call('/healthz', {}, down)).json()) as Health;
    expect(degraded.components.activity?.status).toBe('degraded');
    expect(degraded.components.mongodb?.status).toBe('ok');
    // An isolate that ran no batch (the one answering /healthz, usually) learns it from the event writer.
    reportRecovery('activity');
    const elsewhere = (await (await call('/healthz')).json()) as Health;
    expect(elsewhere.components.activity?.status).toBe('degraded');
    expect(elsewhere.components.activity?.detail).toMatch(/fetch|connect|refused|ECONNREFUSED/i);

    // Redis back: the next batch writes activity and the health entry recovers, there too.
    await consume([
      stored(run, 20, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P20' } }),
    ]);
    expect((await activityOf(shopper.hash)).map((e) => e.product_id)).toEqual(['P20']);
    const healthy = (await (await call('/healthz')).json()) as Health;
    expect(healthy.components.activity?.status).toBe('ok');
  });
});

describe('which events bump the cache generation', () => {
  it(`a view or click of a product among the ${RECENT_HEAD} newest entries keeps it; a new product, a cart change or a purchase bumps it`, async () => {
    const run = runId();
    const shopper = await newShopper();
    let index = 0;
    const event = (name: string, product: string) =>
      stored(run, index++, shopper.id, { event: name, properties: { product_id: product } });

    await consume([event('Product Viewed', 'P-A')]);
    expect(await generationOf(shopper.hash)).toBe(1);
    // The same product again, viewed then clicked: recorded, but the cached lists still fit.
    await consume([event('Product Viewed', 'P-A')]);
    await consume([event('Product Clicked', 'P-A')]);
    expect(await generationOf(shopper.hash)).toBe(1);
    expect((await activityOf(shopper.hash)).map((e) => e.kind)).toEqual(['click', 'view', 'view']);
    // A batch mixing a known and a new product bumps (once).
    await consume([event('Product Viewed', 'P-A'), event('Recommendation Clicked', 'P-B')]);
    expect(await generationOf(shopper.hash)).toBe(2);
    // Cart and purchase changes always bump, even for a product just viewed.
    await consume([event('Product Added', 'P-B')]);
    expect(await generationOf(shopper.hash)).toBe(3);
    await consume([event('Product Removed', 'P-B')]);
    expect(await generationOf(shopper.hash)).toBe(4);
    await consume([
      stored(run, index++, shopper.id, {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, products: [{ product_id: 'P-A', quantity: 1 }] },
      }),
    ]);
    expect(await generationOf(shopper.hash)).toBe(5);

    // Once pushed out of the newest entries, a product counts as new again.
    await consume(Array.from({ length: RECENT_HEAD }, (_, i) => event('Product Viewed', `P-N${i}`)));
    expect(await generationOf(shopper.hash)).toBe(6);
    await consume([event('Product Viewed', 'P-A')]);
    expect(await generationOf(shopper.hash)).toBe(7);
  });

  it('a shopper re-viewing the product page just viewed gets the cached recommendations', async () => {
    const shopper = await newShopper();
    const product = productId(7);
    const query = `placement=product&product_id=${product}&limit=4`;
    const run = runId();
    const view = (i: number) =>
      stored(run, i, shopper.id, { event: 'Product Viewed', properties: { product_id: product } });

    expect((await recommend(query, { cookie: shopper.cookie })).body.cached).toBe(false);
    await consume([view(1)]); // first view of the product: the history changed
    const second = await recommend(query, { cookie: shopper.cookie });
    expect(second.body.cached).toBe(false);
    await consume([view(2)]); // the same product again
    const third = await recommend(query, { cookie: shopper.cookie });
    expect(third.body.cached).toBe(true);
    expect(third.body.items).toEqual(second.body.items);
  });

  it('an entry in the head that is not JSON is skipped, the products around it still count as recent', async () => {
    const run = runId();
    const shopper = await newShopper();
    const view = stored(run, 1, shopper.id, { event: 'Product Viewed', properties: { product_id: 'P-A' } });
    await consume([view]);
    expect(await generationOf(shopper.hash)).toBe(1);
    await directRedis().lpush(activityKey(SITE, shopper.hash), 'not json');
    await consume([{ ...view, messageId: `${run}-2` }]);
    expect(await generationOf(shopper.hash)).toBe(1);
  });

  it('a full consumer batch of packs (25 messages, 2,500 events, 500 shoppers) records every shopper in one pipeline', async () => {
    const run = runId();
    const shoppers = await Promise.all(Array.from({ length: 500 }, () => newShopper()));
    const events = shoppers.flatMap((shopper, s) =>
      Array.from({ length: 5 }, (_, v) =>
        stored(run, s * 5 + v, shopper.id, {
          event: 'Product Viewed',
          properties: { product_id: productId((s + v) % 40) },
        }),
      ),
    );
    const packs = packEvents(events).map((pack) => pack.body);
    expect(packs).toHaveLength(25);
    const batch = createMessageBatch(
      'rx-events',
      packs.map((body, i) => ({ id: `${run}-pack-${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, edgeEnv());
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(25);
    expect(await countRun(run)).toBe(2_500);
    for (const s of [0, 249, 499]) {
      const shopper = shoppers[s];
      if (!shopper) throw new Error('no shopper');
      const activity = await activityOf(shopper.hash);
      expect(activity.map((entry) => entry.product_id)).toEqual(
        [4, 3, 2, 1, 0].map((v) => productId((s + v) % 40)),
      );
      expect(await generationOf(shopper.hash)).toBeGreaterThan(0);
    }
  });
});
