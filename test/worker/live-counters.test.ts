/**
 * The live experiment counters (worker/src/live/): written by the real queue consumer into the local
 * Upstash server on a real redis-server, with the events stored in MongoDB through the real driver,
 * and read back through `GET /admin/live`. Each test has a site of its own, so tests running beside
 * it (which share the Redis) never count into its figures.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import type { LiveAnswer } from '../../contracts/live-api';
import { liveCountersKey, liveOrderKey } from '../../worker/src/cache/keys';
import { handleEventBatch } from '../../worker/src/consumer';
import { packEvents } from '../../worker/src/events/event-pack';
import { LIVE_DAYS, recordLiveCounters } from '../../worker/src/live';
import { dayOf, liveCounterPrefix } from '../../worker/src/live/live-counters';
import { liveTallyHash } from '../../worker/src/shopper/user-hash';
import {
  ADMIN_TOKEN,
  call,
  consume,
  directRedis,
  edgeEnv,
  provided,
  USER_HASH_KEY,
  warmIsolate,
} from './edge-api-support';
import { countRun, runId, writerWith } from './events-support';

const DAY_MS = 86_400_000;

type LiveBody = LiveAnswer;

/** A test's own site, and events of it as the producer queues them. */
function liveSite() {
  const run = runId();
  const site = `live-${run}`;
  let index = 0;
  const event = (
    anonymousId: string | undefined,
    bucket: 'treatment' | 'holdout',
    fields: Partial<StoredEvent>,
    at = Date.now(),
  ): StoredEvent => ({
    type: 'track',
    messageId: `${run}-${index++}`,
    ...(anonymousId === undefined ? {} : { anonymousId }),
    timestamp: new Date(at).toISOString(),
    receivedAt: new Date().toISOString(),
    site,
    bucket,
    model_version: null,
    ...fields,
    properties: { run, ...fields.properties },
  });
  const live = async (query = 'days=1', token = ADMIN_TOKEN) =>
    call(`/admin/live?${query}`, { headers: { authorization: `Bearer ${token}` } }, { SITE_ID: site });
  return { run, site, event, live };
}

beforeAll(warmIsolate, 60_000);

describe('live experiment counters', () => {
  it('counts browsers, impressions, clicks, orders and revenue per arm, an order reported twice once', async () => {
    const { run, site, event, live } = liveSite();
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const orderA = `order-${run}-a`;
    const events = [
      // The proxy's page view of a page it filled: an impression of the product placement.
      event(a, 'treatment', {
        type: 'page',
        name: 'product',
        properties: { path: '/p/1', recommendation_id: 'r1' },
      }),
      event(a, 'treatment', { event: 'Recommendation Shown', properties: { placement: 'home' } }),
      event(a, 'treatment', {
        event: 'Recommendation Clicked',
        properties: { placement: 'home', product_id: 'P1' },
      }),
      event(a, 'treatment', {
        event: 'Order Completed',
        userId: `user-${run}`,
        properties: { order_id: orderA, revenue: 12.5, currency: 'GBP' },
      }),
      // The shop's server reports the same order under the user id alone.
      event(undefined, 'treatment', {
        event: 'Order Completed',
        userId: `user-${run}`,
        properties: { order_id: orderA, revenue: 12.5, currency: 'GBP' },
      }),
      event(b, 'treatment', { event: 'Product Viewed', properties: { product_id: 'P2' } }),
      event(b, 'treatment', { event: 'Recommendation Shown', properties: { placement: 'somewhere-else' } }),
      event(c, 'holdout', {
        event: 'Order Completed',
        properties: {
          order_id: `order-${run}-c`,
          products: [{ product_id: 'P3', price: 1.5, quantity: 2 }],
          currency: 'GBP',
        },
      }),
      event(c, 'holdout', { event: 'Order Completed', properties: { order_id: `order-${run}-d` } }),
    ];
    const before = Date.now();
    const result = await consume(events);
    const after = Date.now();
    expect(result.explicitAcks).toHaveLength(events.length);
    expect(await countRun(run)).toBe(events.length);

    const response = await live();
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as LiveBody;
    expect(body.site).toBe(site);
    expect(body.days).toHaveLength(1);
    expect(body.from).toBe(new Date().toISOString().slice(0, 10));
    const { treatment, holdout } = body.total;
    expect(treatment).toMatchObject({
      browsers: 2,
      buyers: 1,
      conversion_rate: 0.5,
      events: 7,
      impressions: 3,
      clicks: 1,
      click_through_rate: 1 / 3,
      orders: 1,
      unpriced_orders: 0,
      revenue: { GBP: 12.5 },
      revenue_per_browser: { GBP: 6.25 },
      placements: {
        product: { impressions: 1, clicks: 0 },
        home: { impressions: 1, clicks: 1 },
        other: { impressions: 1, clicks: 0 },
      },
    });
    expect(holdout).toMatchObject({
      browsers: 1,
      buyers: 1,
      conversion_rate: 1,
      orders: 2,
      unpriced_orders: 1,
      revenue: { GBP: 3 },
      click_through_rate: null,
    });
    expect(body.days[0]?.arms).toEqual(body.total);
    // Current: counted by the batch above, and nothing counting needs is failing.
    const countedAt = Date.parse(body.counting.last_counted_at ?? '');
    expect(countedAt).toBeGreaterThanOrEqual(before);
    expect(countedAt).toBeLessThanOrEqual(after);
    expect(Date.parse(body.counting.as_of)).toBeGreaterThanOrEqual(countedAt);
    expect(body.counting.problems).toEqual([]);

    // A redelivery of the whole batch (the same messageIds) is stored as duplicates: nothing counts twice.
    const again = await consume(events);
    expect(again.explicitAcks).toHaveLength(events.length);
    expect(((await (await live()).json()) as LiveBody).total).toEqual(body.total);

    // The time of counting is one SET per batch, kept as long as a day's counters; a site never counted
    // has none.
    const countedTtl = await directRedis().ttl(`rx:${site}:live:counted-at`);
    expect(countedTtl).toBeGreaterThan((LIVE_DAYS + 1) * 86_400 - 60);
    expect(countedTtl).toBeLessThanOrEqual((LIVE_DAYS + 1) * 86_400);
    expect(((await (await liveSite().live()).json()) as LiveBody).counting.last_counted_at).toBeNull();

    // Keys carry pseudonyms only: neither a browser's id nor an order id is in any of them.
    const keys = await directRedis().keys(`rx:${site}:live:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const id of [a, b, c, orderA, `user-${run}`]) expect(keys.join('\n')).not.toContain(id);
    // An order stays claimed, with where it counted, as long as a day's counters (a refund weeks later
    // finds it); a day's counters live LIVE_DAYS after that day ends.
    const orderKeys = keys.filter((key) => key.includes(':live:order:'));
    expect(orderKeys).toHaveLength(3); // order A (twice reported), C's two orders
    const orderTtl = await directRedis().ttl(orderKeys[0] ?? '');
    expect(orderTtl).toBeGreaterThan((LIVE_DAYS + 1) * 86_400 - 60);
    expect(orderTtl).toBeLessThanOrEqual((LIVE_DAYS + 1) * 86_400);
    // Its claim says the arm, currency and thousandths it counted for, no id.
    const claims = await Promise.all(orderKeys.map((key) => directRedis().get(key)));
    expect(claims.sort()).toEqual(['holdout|???|', 'holdout|GBP|3000', 'treatment|GBP|12500']);
    const dayTtl = await directRedis().ttl(`rx:${site}:live:${body.from}`);
    expect(dayTtl).toBeGreaterThan(LIVE_DAYS * 86_400);
    expect(dayTtl).toBeLessThanOrEqual((LIVE_DAYS + 1) * 86_400);
  });

  it('keeps days apart: a browser on two days is one browser of the window; older than LIVE_DAYS is not counted', async () => {
    const { event, live } = liveSite();
    const browser = crypto.randomUUID();
    const now = Date.now();
    await consume([
      event(browser, 'treatment', { event: 'Product Viewed', properties: { product_id: 'P1' } }, now),
      event(
        browser,
        'treatment',
        { event: 'Product Viewed', properties: { product_id: 'P2' } },
        now - 2 * DAY_MS,
      ),
      event(crypto.randomUUID(), 'holdout', { event: 'Product Viewed' }, now - 2 * DAY_MS),
      event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed' }, now - (LIVE_DAYS + 1) * DAY_MS),
    ]);
    const today = (await (await live('days=1')).json()) as LiveBody;
    expect(today.total.treatment.browsers).toBe(1);
    expect(today.total.holdout.browsers).toBe(0);

    const window = (await (await live('days=3')).json()) as LiveBody;
    expect(window.days.map((day) => day.arms.treatment.events)).toEqual([1, 0, 1]);
    expect(window.days.map((day) => day.arms.treatment.browsers)).toEqual([1, 0, 1]);
    expect(window.total.treatment).toMatchObject({ browsers: 1, events: 2 });
    expect(window.total.holdout).toMatchObject({ browsers: 1, events: 1 });

    const longest = (await (await live(`days=${LIVE_DAYS}`)).json()) as LiveBody;
    expect(longest.days).toHaveLength(LIVE_DAYS);
    expect(longest.total.treatment.events).toBe(2);
  });

  it("works on the local server's in-memory backend too (npm start without redis-server), counting exactly", async () => {
    const { run, site, event } = liveSite();
    const memory = {
      UPSTASH_REDIS_REST_URL: provided().memoryUpstash.url,
      UPSTASH_REDIS_REST_TOKEN: provided().memoryUpstash.token,
    };
    const browsers = Array.from({ length: 5 }, () => crypto.randomUUID());
    await consume(
      [
        ...browsers.map((browser) => event(browser, 'treatment', { event: 'Product Viewed' })),
        event(browsers[0], 'treatment', {
          event: 'Order Completed',
          properties: { order_id: `o-${run}`, revenue: 2, currency: 'EUR' },
        }),
      ],
      edgeEnv(memory),
    );
    // A refund, reported twice: its claim and the order's refunds use only what that backend has.
    const refund = () =>
      event(browsers[1], 'treatment', {
        event: 'Order Refunded',
        properties: { order_id: `o-${run}`, total: 0.5, currency: 'EUR' },
      });
    await consume([refund(), refund()], edgeEnv(memory));
    const response = await call(
      '/admin/live?days=2',
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      { ...memory, SITE_ID: site },
    );
    expect(response.status).toBe(200);
    const { total } = (await response.json()) as LiveBody;
    expect(total.treatment).toMatchObject({
      browsers: 5,
      buyers: 1,
      events: 8,
      orders: 1,
      revenue: { EUR: 1.5 },
    });
  });

  it('gives an arm with browsers but no revenue in a currency 0 per browser in it, as the report does', async () => {
    const { run, event, live } = liveSite();
    const [a, h] = [crypto.randomUUID(), crypto.randomUUID()];
    await consume([
      event(a, 'treatment', {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, revenue: 10, currency: 'EUR' },
      }),
      event(h, 'holdout', { event: 'Product Viewed', properties: { product_id: 'P1' } }),
    ]);
    const { total } = (await (await live()).json()) as LiveBody;
    expect(total.treatment.revenue_per_browser).toEqual({ EUR: 10 });
    // The holdout's browser spent nothing in EUR: 0, not a missing figure (the screen's "–").
    expect(total.holdout.revenue_per_browser).toEqual({ EUR: 0 });
    expect(total.holdout.revenue).toEqual({});
  });

  it('refuses without the admin token, and names a bad days', async () => {
    const { live } = liveSite();
    expect((await live('days=1', 'wrong-token-0123456789')).status).toBe(401);
    for (const days of ['0', `${LIVE_DAYS + 1}`, 'two', '1.5']) {
      const response = await live(`days=${days}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { code: string; details: Array<{ field: string }> } };
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.details[0]?.field).toBe('days');
    }
  });

  it('a consumer dying after the write, before counting or before acking: the redelivery counts each event once', async () => {
    const { run, event, live } = liveSite();
    const pack = (name: string) => [
      event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed', properties: { product_id: name } }),
      event(crypto.randomUUID(), 'treatment', {
        event: 'Order Completed',
        properties: { order_id: `o-${run}-${name}`, revenue: 4, currency: 'GBP' },
      }),
    ];
    /** One queue message holding `events` as a pack, delivered for the `attempts`-th time. */
    const delivery = (id: string, events: StoredEvent[], attempts: number) =>
      createMessageBatch('rx-events', [
        { id: `${run}-${id}`, timestamp: new Date(), attempts, body: packEvents(events)[0]?.body },
      ]);
    const dies = (where: 'afterWrite' | 'beforeAcks', batch: MessageBatch<unknown>) =>
      expect(
        handleEventBatch(batch, edgeEnv(), {
          [where]: () => {
            throw new Error(`simulated death (${where})`);
          },
        }),
      ).rejects.toThrow('simulated death');
    const total = async () => ((await (await live()).json()) as LiveBody).total.treatment;

    // Died after MongoDB's write, before counting: nothing counted, nothing acked.
    const early = pack('early');
    await dies('afterWrite', delivery('early', early, 1));
    expect((await total()).events).toBe(0);
    // The redelivery finds both events stored, and no marker: it counts them.
    await handleEventBatch(delivery('early', early, 2), edgeEnv());
    expect(await total()).toMatchObject({ events: 2, orders: 1, revenue: { GBP: 4 } });

    // Died after counting, before the acks: the redelivery finds the marker and counts nothing again.
    const late = pack('late');
    await dies('beforeAcks', delivery('late', late, 1));
    expect(await total()).toMatchObject({ events: 4, orders: 2 });
    const redelivered = delivery('late', late, 2);
    await handleEventBatch(redelivered, edgeEnv());
    expect((await getQueueResult(redelivered, createExecutionContext())).explicitAcks).toHaveLength(1);
    expect(await total()).toMatchObject({ events: 4, orders: 2, revenue: { GBP: 8 } });
    // And once more (a third delivery): still once.
    await handleEventBatch(delivery('early', early, 3), edgeEnv());
    expect(await total()).toMatchObject({ events: 4, orders: 2 });
    expect(await countRun(run)).toBe(4);
  });

  // The consumer tells the counters which messages it retries: a retried delivery that stored nothing must
  // leave no marker, or the delivery that then stores the events and dies before counting is never made good.
  it('a delivery retried before anything was stored leaves no marker: a later one dying before counting is made good', async () => {
    const { run, event, live } = liveSite();
    const events = [
      event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed', properties: { product_id: 'a' } }),
      event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed', properties: { product_id: 'b' } }),
    ];
    const delivery = (attempts: number) =>
      createMessageBatch('rx-events', [
        { id: `${run}-m`, timestamp: new Date(), attempts, body: packEvents(events)[0]?.body },
      ]);
    const { env: refusing } = writerWith(
      `live-retried-${run}`,
      async (request) => ({
        events: request.events.map(() => ({
          kind: 'retry',
          reason: 'MongoDB error 292: exceeded memory limit',
        })),
        rejected: [],
      }),
      edgeEnv(),
    );
    const first = delivery(1);
    await handleEventBatch(first, refusing);
    expect((await getQueueResult(first, createExecutionContext())).retryMessages).toHaveLength(1);
    await expect(
      handleEventBatch(delivery(2), edgeEnv(), {
        afterWrite: () => {
          throw new Error('simulated death (afterWrite)');
        },
      }),
    ).rejects.toThrow('simulated death');
    await handleEventBatch(delivery(3), edgeEnv());
    expect(((await (await live()).json()) as LiveBody).total.treatment.events).toBe(2);
    expect(await countRun(run)).toBe(2);
  });

  it('events sent again by a new request count once, though that message is redelivered', async () => {
    const { run, event, live } = liveSite();
    const total = async () => ((await (await live()).json()) as LiveBody).total.treatment;
    const views = [
      event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed' }),
      event(crypto.randomUUID(), 'treatment', {
        event: 'Recommendation Shown',
        properties: { placement: 'home' },
      }),
    ];
    const delivery = (id: string, events: StoredEvent[], attempts: number) =>
      createMessageBatch('rx-events', [
        { id: `${run}-${id}`, timestamp: new Date(), attempts, body: packEvents(events)[0]?.body },
      ]);
    await handleEventBatch(delivery('first', views, 1), edgeEnv());
    expect(await total()).toMatchObject({ events: 2, impressions: 1 });
    // The same events sent again (a new request, so a new receivedAt) in another queue message, whose
    // first delivery was retried (the writer call failed): its redelivery finds them stored by the first.
    const later = new Date(Date.now() + 1_500).toISOString();
    const resent = views.map((view) => ({ ...view, receivedAt: later }));
    const redelivered = delivery('resent', resent, 2);
    await handleEventBatch(redelivered, edgeEnv());
    expect((await getQueueResult(redelivered, createExecutionContext())).explicitAcks).toHaveLength(1);
    expect(await total()).toMatchObject({ events: 2, impressions: 1 });
    // Its own copies still count on a redelivery: one stored by a delivery that died before counting.
    const own = [event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed' })];
    await expect(
      handleEventBatch(delivery('own', own, 1), edgeEnv(), {
        afterWrite: () => {
          throw new Error('simulated death');
        },
      }),
    ).rejects.toThrow('simulated death');
    await handleEventBatch(delivery('own', own, 2), edgeEnv());
    expect(await total()).toMatchObject({ events: 3, impressions: 1 });
    expect(await countRun(run)).toBe(3);
  });

  it('the same enriched events in a second queue message (the outbox resending a send that landed, a replay) count once, though that message dies after the write and is redelivered', async () => {
    const { run, event, live } = liveSite();
    const total = async () => ((await (await live()).json()) as LiveBody).total.treatment;
    const views = [
      event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed' }),
      event(crypto.randomUUID(), 'treatment', {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, revenue: 4, currency: 'GBP' },
      }),
    ];
    const delivery = (id: string, attempts: number) =>
      createMessageBatch('rx-events', [
        { id: `${run}-${id}`, timestamp: new Date(), attempts, body: packEvents(views)[0]?.body },
      ]);
    await handleEventBatch(delivery('sent', 1), edgeEnv());
    expect(await total()).toMatchObject({ events: 2, orders: 1 });
    // The copy (same body, same receivedAt) in its own message: its first delivery finds both stored,
    // and dies before its Redis writes; its redelivery finds them stored again.
    await expect(
      handleEventBatch(delivery('copy', 1), edgeEnv(), {
        afterWrite: () => {
          throw new Error('simulated death');
        },
      }),
    ).rejects.toThrow('simulated death');
    const redelivered = delivery('copy', 2);
    await handleEventBatch(redelivered, edgeEnv());
    expect((await getQueueResult(redelivered, createExecutionContext())).explicitAcks).toHaveLength(1);
    expect(await total()).toMatchObject({ events: 2, orders: 1, revenue: { GBP: 4 } });
    expect(await countRun(run)).toBe(2);
  });

  it('a revenue counter past 2^53 minor units is still shown (to 1e-16 of its value), not dropped', async () => {
    const { site, live } = liveSite();
    const day = dayOf(Date.now());
    // 10 orders at MAX_ORDER_VALUE (1e12) are 1e16 thousandths: past 2^53 (about 9.007e15). Redis
    // holds it exactly (64 bits); the client reads it back as the nearest double.
    await directRedis().hset(liveCountersKey(site, day), {
      [`${liveCounterPrefix('treatment')}revenue_milli:GBP`]: '10000000000000003',
      [`${liveCounterPrefix('treatment')}orders`]: '10',
    });
    const answer = (await (await live()).json()) as LiveBody;
    expect(answer.total.treatment.orders).toBe(10);
    expect(answer.total.treatment.revenue.GBP).toBeCloseTo(1e13, 0);
    expect(answer.days[0]?.arms.treatment.revenue.GBP).toBeCloseTo(1e13, 0);
  });

  it('a message retried with nothing stored leaves no marker; one acked with only events sent twice does', async () => {
    const { event, live, site } = liveSite();
    const total = async () => ((await (await live()).json()) as LiveBody).total.treatment.events;
    const view = () => event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed' });
    const env = edgeEnv();

    // Retried, every event still to store: no marker, so a later delivery that stored them and died
    // before counting is made good by the one after it.
    const retried = view();
    await recordLiveCounters(env, [
      { messageId: 'm-retried', site, acked: false, stored: [], storedEarlier: [] },
    ]);
    // Nothing to count or mark is no failure either.
    const health = (await (await call('/healthz', {}, env)).json()) as {
      components: Record<string, { status: string }>;
    };
    expect(health.components.live_counters?.status).toBe('ok');
    await recordLiveCounters(env, [
      { messageId: 'm-retried', site, acked: true, stored: [], storedEarlier: [retried] },
    ]);
    expect(await total()).toBe(1);

    // Acked with nothing new (the events were sent twice): marked, so its redelivery counts nothing.
    const twice = view();
    await recordLiveCounters(env, [
      { messageId: 'm-twice', site, acked: true, stored: [], storedEarlier: [] },
    ]);
    await recordLiveCounters(env, [
      { messageId: 'm-twice', site, acked: true, stored: [], storedEarlier: [twice] },
    ]);
    expect(await total()).toBe(1);
  });

  it('a redelivery that counted what an earlier one stored leaves a marker, though it is retried again', async () => {
    const { event, live, site } = liveSite();
    const total = async () => ((await (await live()).json()) as LiveBody).total.treatment.events;
    const stored = event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed' });
    // Delivery 2 finds the event stored by delivery 1 (which died before counting) and counts it, but
    // the message is retried (another of its events could not be written): delivery 3 must not count
    // it again.
    for (const _attempt of [2, 3]) {
      await recordLiveCounters(edgeEnv(), [
        { messageId: 'm-again', site, acked: false, stored: [], storedEarlier: [stored] },
      ]);
    }
    expect(await total()).toBe(1);
  });

  it("a server's order under a user id alone counts in the arm of the one browser the user was seen with, or in none", async () => {
    const { run, event, live } = liveSite();
    const browser = crypto.randomUUID();
    const user = `user-${run}`;
    const order = (anonymousId: string | undefined, bucket: 'treatment' | 'holdout', id: string) =>
      event(anonymousId, bucket, {
        event: 'Order Completed',
        userId: user,
        properties: { order_id: `o-${run}-${id}`, revenue: 10, currency: 'GBP' },
      });
    const totals = async () => ((await (await live()).json()) as LiveBody).total;

    // Seen with no browser yet: in no arm, and not claimed, so the browser's report, later, counts in
    // the browser's arm (the worker drew the server event's bucket from the user id: treatment here).
    await consume([order(undefined, 'treatment', 'first')]);
    expect((await totals()).treatment.orders + (await totals()).holdout.orders).toBe(0);
    await consume([order(browser, 'holdout', 'first')]);
    expect(await totals()).toMatchObject({ holdout: { orders: 1, buyers: 1 }, treatment: { orders: 0 } });

    // Now the user id is known with that holdout browser: the server's report, first this time, counts
    // there, and the browser's report after it counts nothing more.
    await consume([order(undefined, 'treatment', 'second')]);
    await consume([order(browser, 'holdout', 'second')]);
    expect(await totals()).toMatchObject({
      // One buyer: the server's order is its one browser's, as in the report, not a buyer of its own.
      holdout: { orders: 2, buyers: 1, revenue: { GBP: 20 } },
      treatment: { orders: 0 },
    });

    // Seen with a browser of each arm: in no arm again.
    await consume([event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed', userId: user })]);
    await consume([order(undefined, 'holdout', 'third')]);
    expect(await totals()).toMatchObject({ holdout: { orders: 2 }, treatment: { orders: 0 } });

    // Seen with two browsers of one arm: in no arm either, as in the report. A user's two browsers are
    // both in treatment 81 times in 100 and both held out once: counting them would favour treatment.
    const other = `other-${run}`;
    for (const browserOfOther of [crypto.randomUUID(), crypto.randomUUID()])
      await consume([event(browserOfOther, 'treatment', { event: 'Product Viewed', userId: other })]);
    await consume([
      event(undefined, 'treatment', {
        event: 'Order Completed',
        userId: other,
        properties: { order_id: `o-${run}-other`, revenue: 10, currency: 'GBP' },
      }),
    ]);
    expect(await totals()).toMatchObject({ holdout: { orders: 2 }, treatment: { orders: 0 } });
  });

  it("a server's impression or click under a user id alone counts in the arm of the one browser the user was seen with, or in none, as the report gives it", async () => {
    const { run, event, live } = liveSite();
    const user = `user-${run}`;
    // The user seen with one holdout browser.
    await consume([event(crypto.randomUUID(), 'holdout', { event: 'Product Viewed', userId: user })]);
    // The shop's server reports under the user id alone; the worker drew treatment from the user id.
    await consume([
      event(undefined, 'treatment', {
        event: 'Recommendation Shown',
        userId: user,
        properties: { placement: 'home' },
      }),
      event(undefined, 'treatment', {
        event: 'Recommendation Clicked',
        userId: user,
        properties: { placement: 'home', product_id: 'P1' },
      }),
      // A user id never seen with a browser: in no arm's impressions (the report leaves it out).
      event(undefined, 'treatment', {
        event: 'Recommendation Shown',
        userId: `nobody-${run}`,
        properties: { placement: 'home' },
      }),
    ]);
    const { total } = (await (await live()).json()) as LiveBody;
    // As trainer/experiment/tally.ts counts the same events (assignUserOnlyEvents): the holdout
    // browser's impression and click, none in treatment.
    expect(total.holdout).toMatchObject({
      browsers: 1,
      impressions: 1,
      clicks: 1,
      events: 3,
      placements: { home: { impressions: 1, clicks: 1 } },
    });
    expect(total.treatment).toMatchObject({ browsers: 0, impressions: 0, clicks: 0, placements: {} });
    // Every event is among the events: the one in no arm in the bucket the worker drew for it.
    expect(total.treatment.events).toBe(1);
  });

  it("a server's order today for a browser last seen yesterday counts that browser among today's browsers: buyers never exceed browsers", async () => {
    const { run, event, live } = liveSite();
    const now = Date.now();
    const serverOrder = (user: string, id: string) =>
      // The worker drew the server event's bucket from the user id: treatment here, the browsers' arm is holdout.
      event(undefined, 'treatment', {
        event: 'Order Completed',
        userId: user,
        properties: { order_id: `o-${run}-${id}`, revenue: 10, currency: 'GBP' },
      });
    // Two signed-in shoppers, each seen yesterday with one holdout browser (checkout before midnight).
    const users = [`user-${run}-1`, `user-${run}-2`];
    for (const user of users)
      await consume([
        event(crypto.randomUUID(), 'holdout', { event: 'Product Viewed', userId: user }, now - DAY_MS),
      ]);
    // Today: one other holdout browser, and the shop's server reports each user's order under the user id alone.
    await consume([event(crypto.randomUUID(), 'holdout', { event: 'Product Viewed' }, now)]);
    await consume(users.map((user, index) => serverOrder(user, `${index}`)));

    const today = ((await (await live('days=1')).json()) as LiveBody).total.holdout;
    // Each buyer is one of the day's browsers, as in the report: the other browser and the two buyers.
    expect(today).toMatchObject({ browsers: 3, buyers: 2, orders: 2, events: 3, revenue: { GBP: 20 } });
    expect(today.conversion_rate).toBeCloseTo(2 / 3, 10);
    expect(today.buyers).toBeLessThanOrEqual(today.browsers);
    // Over both days the buyers' browsers are the same two browsers as yesterday's: three in all.
    const window = (await (await live('days=2')).json()) as LiveBody;
    expect(window.days.map((day) => day.arms.holdout.browsers)).toEqual([2, 3]);
    expect(window.days.map((day) => day.arms.holdout.buyers)).toEqual([0, 2]);
    expect(window.total.holdout).toMatchObject({ browsers: 3, buyers: 2 });
    expect(window.total.treatment).toMatchObject({ browsers: 0, buyers: 0, events: 0, orders: 0 });

    // With no other browser that day: one browser, the buyer's, and a conversion of 1, not null.
    const alone = liveSite();
    const user = `user-${alone.run}`;
    await consume([
      alone.event(crypto.randomUUID(), 'treatment', { event: 'Product Viewed', userId: user }, now - DAY_MS),
    ]);
    await consume([
      alone.event(undefined, 'holdout', {
        event: 'Order Completed',
        userId: user,
        properties: { order_id: `o-${alone.run}`, revenue: 5, currency: 'EUR' },
      }),
    ]);
    const aloneToday = ((await (await alone.live('days=1')).json()) as LiveBody).total;
    expect(aloneToday.treatment).toMatchObject({ browsers: 1, buyers: 1, conversion_rate: 1, orders: 1 });
    expect(aloneToday.holdout).toMatchObject({ browsers: 0, buyers: 0, orders: 0 });
  });

  it("takes a refund off the revenue of its order's arm, at most the order's value, a refund reported twice once", async () => {
    const { run, event, live } = liveSite();
    const [h, t, phone, c] = [
      crypto.randomUUID(),
      crypto.randomUUID(),
      crypto.randomUUID(),
      crypto.randomUUID(),
    ];
    const user = `user-${run}`;
    const order = (id: string) => `o-${run}-${id}`;
    const totals = async () => ((await (await live()).json()) as LiveBody).total;
    const orders = [
      event(h, 'holdout', {
        event: 'Order Completed',
        userId: user,
        properties: { order_id: order('1'), revenue: 30, currency: 'GBP' },
      }),
      event(t, 'treatment', {
        event: 'Order Completed',
        properties: { order_id: order('2'), revenue: 50, currency: 'GBP' },
      }),
    ];
    await consume(orders);
    // The shop's server refunds 10 of order 1 under the user id alone (its bucket drawn from that id),
    // and the shopper's phone, in treatment, reports the full refund without an amount: together 30,
    // the order's value, taken off the holdout, the order's arm.
    const refunds = [
      event(undefined, 'treatment', {
        event: 'Order Refunded',
        userId: user,
        properties: { order_id: order('1'), total: 10, currency: 'GBP' },
      }),
      event(phone, 'treatment', { event: 'Order Refunded', properties: { order_id: order('1') } }),
      // A refund of order 2 that the browser reports, and the server again in the next batch: once.
      event(t, 'treatment', {
        event: 'Order Refunded',
        properties: { order_id: order('2'), total: 5, currency: 'GBP' },
      }),
    ];
    await consume(refunds);
    await consume([
      event(undefined, 'treatment', {
        event: 'Order Refunded',
        userId: `server-${run}`,
        properties: { order_id: order('2'), total: 5, currency: 'GBP' },
      }),
      // A cancellation as the UCI data records one (an invoice of its own, negative): no order, no
      // buyer, its amount off its own browser's arm.
      event(c, 'holdout', {
        event: 'Order Completed',
        properties: { order_id: `C-${run}`, revenue: -4, currency: 'GBP' },
      }),
      // A full refund of an order never seen: nothing to take off.
      event(c, 'holdout', { event: 'Order Refunded', properties: { order_id: order('unknown') } }),
    ]);
    const total = await totals();
    expect(total.holdout).toMatchObject({ browsers: 2, buyers: 1, orders: 1, revenue: { GBP: -4 } });
    expect(total.treatment).toMatchObject({ browsers: 2, buyers: 1, orders: 1, revenue: { GBP: 45 } });
    expect(total.holdout.revenue_per_browser).toEqual({ GBP: -2 });
    // Redelivered (the same messageIds): nothing counts twice.
    await consume([...orders, ...refunds]);
    expect(await totals()).toEqual(total);
  });

  it('skips an order or refund worth more than MAX_ORDER_VALUE (1e12) entirely, as the report does', async () => {
    const { run, event, live } = liveSite();
    const [shopper, mistaken] = [crypto.randomUUID(), crypto.randomUUID()];
    await consume([
      event(shopper, 'treatment', {
        event: 'Order Completed',
        properties: { order_id: `o-${run}-real`, revenue: 1200, currency: 'JPY' },
      }),
      // A price in the wrong unit, twice: each 5e12 × 1000 thousandths, which with a few more would take
      // the day's revenue past 2^53 (and the screen would drop the field). The report skips these events.
      event(mistaken, 'treatment', {
        event: 'Order Completed',
        properties: { order_id: `o-${run}-big`, revenue: 5e12, currency: 'JPY' },
      }),
      event(mistaken, 'treatment', {
        event: 'Order Completed',
        properties: {
          order_id: `o-${run}-lines`,
          products: [{ product_id: 'P1', price: 5e12 }],
          currency: 'JPY',
        },
      }),
      // A refund as absurd: not taken off either.
      event(shopper, 'treatment', {
        event: 'Order Refunded',
        properties: { order_id: `o-${run}-real`, total: 5e12, currency: 'JPY' },
      }),
    ]);
    const { total } = (await (await live()).json()) as LiveBody;
    expect(total.treatment).toMatchObject({
      browsers: 1,
      buyers: 1,
      orders: 1,
      events: 1,
      unpriced_orders: 0,
      revenue: { JPY: 1200 },
    });
  });

  it("a refund of an order counted before this version, or never seen, is its own browser's", async () => {
    const { run, site, event, live } = liveSite();
    const browser = crypto.randomUUID();
    // A claim as the counters wrote it before refunds: "1", no arm. The refund is its own browser's.
    const orderId = `o-${run}-old`;
    const key = liveOrderKey(site, await liveTallyHash(USER_HASH_KEY, site, 'order', `order:${orderId}`));
    await directRedis().set(key, '1', { ex: 600 });
    await consume([
      event(browser, 'holdout', {
        event: 'Order Refunded',
        properties: { order_id: orderId, revenue: 6, currency: 'EUR' },
      }),
      event(browser, 'holdout', {
        event: 'Order Refunded',
        properties: { order_id: `o-${run}-never`, revenue: -1.5, currency: 'EUR' },
      }),
    ]);
    const { total } = (await (await live()).json()) as LiveBody;
    expect(total.holdout).toMatchObject({ browsers: 1, buyers: 0, orders: 0, revenue: { EUR: -7.5 } });
  });

  it('Redis down: the events are still stored and acked, /healthz shows live_counters degraded, /admin/live says 503', async () => {
    const { run, site, event } = liveSite();
    const down = edgeEnv({ UPSTASH_REDIS_REST_URL: provided().deadUpstashUrl, SITE_ID: site });
    const events = [
      event(crypto.randomUUID(), 'treatment', {
        event: 'Order Completed',
        properties: { order_id: `o-${run}`, revenue: 5 },
      }),
    ];
    const result = await consume(events, down);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await countRun(run)).toBe(1);
    const health = (await (await call('/healthz', {}, down)).json()) as {
      components: Record<string, { status: string }>;
    };
    expect(health.components.live_counters?.status).toBe('degraded');

    const response = await call(
      '/admin/live?days=1',
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      { UPSTASH_REDIS_REST_URL: provided().deadUpstashUrl },
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('cache_unavailable');
  });

  it('the screen: a static page whose CSP allows exactly its inline script and stylesheet; off without ADMIN_TOKEN', async () => {
    const response = await call('/admin/live/screen');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    const page = await response.text();
    const script = /<script>([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)?.[1] ?? '';
    expect(script.length).toBeGreaterThan(1000);
    expect(csp).toContain(`script-src 'sha256-${await sha256Base64(script)}'`);
    expect(csp).toContain(`style-src 'sha256-${await sha256Base64(style)}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    // Nothing of the site's figures or secrets is in the page itself.
    expect(page).not.toContain(ADMIN_TOKEN);

    const off = await call('/admin/live/screen', {}, { ADMIN_TOKEN: '' });
    expect(off.status).toBe(404);
    const offApi = await call('/admin/live', { headers: { authorization: 'Bearer x' } }, { ADMIN_TOKEN: '' });
    expect(offApi.status).toBe(404);
  });
});

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}
