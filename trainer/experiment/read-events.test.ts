/**
 * The experiment report's reads against the project's local MongoDB-compatible server, through the
 * official driver, or against a real MongoDB when RX_TEST_MONGODB_URI is set (test/support/test-mongo.ts).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventDocument, toEventDocument } from '../../contracts/event-document';
import type { StoredEvent } from '../../contracts/events';
import {
  ensureConsumerIndexes as ensureIndexes,
  type SortRefusingMongo,
  sortRefusingMongo,
} from '../../test/support/consumer-indexes';
import { type ReaderMongo, readerMongo, realTestMongoUri, withDatabase } from '../../test/support/test-mongo';
import { REPEATED_MESSAGE_ID } from '../data/events';
import { ReadReport } from '../data/types';
import {
  type ExperimentFormat,
  NO_BROWSER_INDEX,
  READ_ALONG_BROWSER_INDEX,
  readExperiment,
} from './read-events';
import { ExperimentTally, type TallyOptions } from './tally';

let mongo: ReaderMongo;
let uri = '';

const event = (id: string, fields: Partial<StoredEvent>): StoredEvent => ({
  type: 'track',
  messageId: id,
  anonymousId: 'a1',
  timestamp: '2026-11-02T10:00:00.000Z',
  receivedAt: '2026-11-02T10:00:01.000Z',
  site: 'shop',
  bucket: 'treatment',
  model_version: null,
  ...fields,
});

const events: StoredEvent[] = [
  event('e1', { type: 'page', properties: { url: 'https://shop.example/', title: 'Home' } }),
  event('e2', {
    event: 'Recommendation Clicked',
    properties: { product_id: 'P1', recommendation_id: 'r1', placement: 'home' },
  }),
  event('e3', {
    event: 'Order Completed',
    timestamp: '2026-11-03T10:00:00.000Z',
    properties: {
      order_id: 'o1',
      currency: 'GBP',
      products: [
        { product_id: 'P1', price: 2.5, quantity: 2, name: 'Mug', image_url: 'https://img/1.jpg' },
        { product_id: 'P2', price: 4, quantity: 1, name: 'Tin' },
      ],
    },
  }),
  event('e4', { type: 'page', anonymousId: 'h1', bucket: 'holdout' }),
  // What the proxy sends for a product page it filled.
  event('e7', {
    event: 'Product Viewed',
    properties: { product_id: 'P1', recommendation_id: 'r2', model_version: 'v1' },
    context: { source: 'rx-proxy', personalized: true },
  }),
  // The shop's server reports an order under the user id alone; a1 signed in as that user.
  event('e8', { type: 'identify', userId: 'u1' }),
  { ...event('e9', { event: 'Order Completed', userId: 'u1', bucket: 'holdout' }), anonymousId: undefined },
  // A signed-in shopper with no order from a server: the sorted read keeps nothing of them.
  event('e10', { type: 'page', anonymousId: 'b2', userId: 'u3' }),
  // A user id seen with no browser: its order is in no arm.
  {
    ...event('e11', { event: 'Order Completed', userId: 'u2', properties: { order_id: 'o3' } }),
    anonymousId: undefined,
  },
  // One order two browsers reported: b2 comes first by browser, c1's report was stored first (and is
  // the one that counts, in the holdout).
  event('e12', {
    event: 'Order Completed',
    anonymousId: 'b2',
    receivedAt: '2026-11-02T11:00:00.000Z',
    properties: { order_id: 'o4', revenue: 7, currency: 'GBP' },
  }),
  event('e13', {
    event: 'Order Completed',
    anonymousId: 'c1',
    bucket: 'holdout',
    receivedAt: '2026-11-02T09:00:00.000Z',
    properties: { order_id: 'o4', revenue: 7, currency: 'GBP' },
  }),
  // Outside the window, and another site's.
  event('e5', { type: 'page', anonymousId: 'late', timestamp: '2026-11-20T10:00:00.000Z' }),
  event('e6', { type: 'page', anonymousId: 'o1', site: 'other-shop' }),
];

/**
 * Refunds, in a window of their own (December): the holdout browser z1's order, fully refunded by the
 * shopper's other browser a1 (read, and summed up, before z1) and again by the shop's server under the
 * user id alone; and a cancellation as the UCI data records one (a negative order of its own id).
 */
const refundEvents: StoredEvent[] = [
  event('r1', {
    event: 'Order Completed',
    anonymousId: 'z1',
    bucket: 'holdout',
    timestamp: '2026-12-02T10:00:00.000Z',
    properties: { order_id: 'ro1', revenue: 20, currency: 'GBP' },
  }),
  event('r2', {
    type: 'page',
    anonymousId: 'z1',
    userId: 'u5',
    bucket: 'holdout',
    timestamp: '2026-12-02T09:00:00.000Z',
  }),
  event('r3', {
    event: 'Order Refunded',
    anonymousId: 'a1',
    timestamp: '2026-12-05T10:00:00.000Z',
    properties: { order_id: 'ro1' },
  }),
  {
    ...event('r4', {
      event: 'Order Refunded',
      userId: 'u5',
      timestamp: '2026-12-05T10:00:00.000Z',
      properties: { order_id: 'ro1', total: 20, currency: 'GBP' },
    }),
    anonymousId: undefined,
  },
  event('r5', {
    event: 'Order Completed',
    anonymousId: 'm1',
    timestamp: '2026-12-06T10:00:00.000Z',
    properties: { order_id: 'C536379', revenue: -5, currency: 'GBP' },
  }),
];

beforeAll(async () => {
  mongo = await readerMongo('rxreport');
  uri = mongo.uri;
  const client = new MongoClient(uri);
  try {
    await client
      .db(mongo.database)
      .collection<EventDocument>('events')
      .insertMany([...events, ...refundEvents].map((e) => toEventDocument(e)));
  } finally {
    await client.close();
  }
});

afterAll(async () => {
  await mongo?.close();
});

async function tallyOf(
  format: ExperimentFormat,
  input: string,
  options: Omit<TallyOptions, 'attributionMs'>,
  userIdsPerQuery?: number,
) {
  const report = new ReadReport();
  const tally = new ExperimentTally({ ...options, attributionMs: 7 * 86_400_000 }, report);
  await readExperiment(format, input, options, tally, report, userIdsPerQuery);
  const held = tally.held;
  return { result: tally.finish(), report, held };
}

describe('experiment events from MongoDB', () => {
  it('filters the site and window on the server and reads what the report needs', async () => {
    const window = { site: 'shop', from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 10) };
    const { result, report, held } = await tallyOf('mongodb', uri, window);
    // e5 and e6 never left the server.
    expect(report.rows).toEqual({ read: 11, kept: 11 });
    // Sorted by browser, each was summed up when the next one's events came: only the last was held,
    // and of the signed-in shoppers only u1, whose order came without a browser.
    expect(held).toEqual({ browsers: 1, userIds: 1 });
    const arm = result.arms.treatment;
    expect(arm).toMatchObject({
      shoppers: 2,
      converted: 1,
      // o1 from the browser, and the server's o2, given to the one browser u1 was seen with.
      orders: 2,
      attributedOrders: 1,
      recommendationsShown: 1,
      recommendationClicks: 1,
      placements: { product: { impressions: 1, clicks: 0 }, home: { impressions: 0, clicks: 1 } },
    });
    expect(arm.revenue.GBP?.sum).toBe(9);
    expect(arm.attributedRevenue).toEqual({ GBP: 5 });
    // o4 once, for c1's report: read after b2's, stored before it.
    expect(result.arms.holdout).toMatchObject({ shoppers: 2, converted: 1, orders: 1 });
    expect(result.arms.holdout.revenue.GBP?.sum).toBe(7);
    expect(result.repeatedOrders).toBe(1);
    expect(result.unassigned).toEqual({ userIds: 1, orders: 1 });
    // The user ids' browsers asked for one id per query: the same report.
    const chunked = await tallyOf('mongodb', uri, window, 1);
    expect(chunked.result).toEqual(result);
  });

  it('lets the server sort the window where it may: no walk along the browser index of every stored event', async () => {
    const window = { site: 'shop', from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 10) };
    const expected = await tallyOf('mongodb', uri, window);
    const indexed = withDatabase(uri, `${mongo.database}_indexed`);
    const client = new MongoClient(indexed);
    try {
      const db = client.db(`${mongo.database}_indexed`);
      await db
        .collection<EventDocument>('events')
        .insertMany([...events, ...refundEvents].map((e) => toEventDocument(e)));
      await ensureIndexes(db);
      const { result, report } = await tallyOf('mongodb', indexed, window);
      expect(result).toEqual(expected.result);
      expect(report.notes).not.toContain(READ_ALONG_BROWSER_INDEX);
      expect(report.notes).not.toContain(NO_BROWSER_INDEX);
    } finally {
      await client.db(`${mongo.database}_indexed`).dropDatabase();
      await client.close();
    }
  });

  it('nets refunds where their order counts, the browser that reported it read before or after', async () => {
    const window = { site: 'shop', from: Date.UTC(2026, 11, 1), to: Date.UTC(2026, 11, 31) };
    const { result, report } = await tallyOf('mongodb', uri, window);
    expect(report.rows).toEqual({ read: 5, kept: 5 });
    // z1 bought, and got it all back: still a buyer, worth 0.
    expect(result.arms.holdout).toMatchObject({ shoppers: 1, converted: 1, orders: 1, refunds: 1 });
    expect(result.arms.holdout.revenue.GBP?.sum).toBe(0);
    // a1 and m1: m1's cancellation is no order, and is taken off its own revenue.
    expect(result.arms.treatment).toMatchObject({ shoppers: 2, converted: 0, orders: 0, refunds: 1 });
    expect(result.arms.treatment.revenue.GBP?.sum).toBe(-5);
    expect(result.refunds).toEqual({ netted: 2, ofUnknownOrders: 1, notNetted: 0, inNoArm: 0, repeated: 1 });
  });

  it('without --site, refuses events of several sites', async () => {
    await expect(tallyOf('mongodb', uri, {})).rejects.toThrow(/2 sites \(other-shop, shop\)/);
  });

  it('reads the same from a mongoexport of the collection (Extended JSON)', async () => {
    const file = path.join(os.tmpdir(), `rx-report-${process.pid}.jsonl`);
    const lines = events.map((e) =>
      JSON.stringify({
        ...toEventDocument(e),
        timestamp: { $date: e.timestamp },
        receivedAt: { $date: e.receivedAt },
      }),
    );
    // The click twice (two exports appended): counted once, and said.
    await writeFile(file, `${[...lines, lines[1]].join('\n')}\n`);
    const { result, report, held } = await tallyOf('events', file, {
      site: 'shop',
      to: Date.UTC(2026, 10, 10),
    });
    expect(report.rows).toEqual({ read: 14, kept: 11 });
    expect(report.skipped()).toContainEqual({ reason: REPEATED_MESSAGE_ID, count: 1, firstLines: [14] });
    // In file order, every browser is held until the end.
    expect(held.browsers).toBe(4);
    expect(result.arms.treatment).toMatchObject({ shoppers: 2, orders: 2, recommendationClicks: 1 });
    expect(result.arms.holdout).toMatchObject({ shoppers: 2, orders: 1 });
    expect(result.arms.treatment.revenue.GBP?.sum).toBe(9);
    expect(result.arms.treatment.attributedRevenue).toEqual({ GBP: 5 });
  });
});

/**
 * Atlas Free and Flex clusters ignore allowDiskUse, so there a `$sort` that no index gives fails past
 * 100 MB (292). The local server is held to 1 KB here and ignores allowDiskUse too; against a real
 * MongoDB (RX_TEST_MONGODB_URI) the same reads run with that server's own limit.
 */
describe('experiment events from a server that refuses to sort in memory', () => {
  const real = realTestMongoUri();
  let server: SortRefusingMongo;

  beforeAll(async () => {
    server = await sortRefusingMongo(
      [...events, ...refundEvents].map((e) => toEventDocument(e)),
      { indexed: 'rxreport_strict', bare: 'rxreport_bare' },
    );
  });

  afterAll(async () => {
    await server?.close();
  });

  /** A tally with each arm's spending in value order: the order browsers are summed up in is the index's. */
  const comparable = (result: Awaited<ReturnType<typeof tallyOf>>['result']) => ({
    ...result,
    spending: Object.fromEntries(
      Object.entries(result.spending).map(([bucket, byCurrency]) => [
        bucket,
        Object.fromEntries(
          Object.entries(byCurrency).map(([currency, values]) => [
            currency,
            [...values].sort((a, b) => a - b),
          ]),
        ),
      ]),
    ),
  });

  it("reads browser by browser along the consumer's anonymous_time index: the same report, one browser held", async () => {
    const fellBack: boolean[] = [];
    for (const window of [
      { site: 'shop', from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 10) },
      { site: 'shop', from: Date.UTC(2026, 11, 1), to: Date.UTC(2026, 11, 31) },
    ]) {
      const expected = await tallyOf('mongodb', uri, window);
      const { result, report, held } = await tallyOf(
        'mongodb',
        withDatabase(server.base, server.indexed),
        window,
      );
      expect(comparable(result)).toEqual(comparable(expected.result));
      expect(report.rows).toEqual(expected.report.rows);
      expect(held).toEqual(expected.held);
      expect(report.notes).not.toContain(NO_BROWSER_INDEX);
      fellBack.push(report.notes.includes(READ_ALONG_BROWSER_INDEX));
    }
    // Where the window's events pass 1 KB, the server's own sort was refused first (allowDiskUse
    // ignored) and the read went along the index; a window under it was sorted by the server.
    if (!real) expect(fellBack).toEqual([true, false]);
  });

  it.skipIf(real !== undefined)(
    'without an index on anonymousId the server sorts in memory and refuses: the error and the summary say why',
    async () => {
      const window = { site: 'shop', from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 10) };
      const report = new ReadReport();
      const tally = new ExperimentTally({ ...window, attributionMs: 7 * 86_400_000 }, report);
      await expect(
        readExperiment('mongodb', withDatabase(server.base, server.bare), window, tally, report),
      ).rejects.toThrow(
        /^reading rxreport_bare\.events from MongoDB failed after \d+ events: PlanExecutor error during aggregation :: caused by :: Sort exceeded memory limit of 1024 bytes, but did not opt in to external sorting\. \(MongoDB sorted in memory, past its limit, as no index gave the order: .*Atlas Free and Flex clusters ignore allowDiskUse\)$/,
      );
      expect(report.notes).toContain(NO_BROWSER_INDEX);
    },
  );
});
