/**
 * The stored events the experiment report reads: a JSONL export (`--format events`), or the events
 * collection itself (`--format mongodb`). There the server does the filtering (site, time window and
 * the fields the report reads), so only what counts crosses the wire, and gives the events browser by
 * browser, so the report's memory does not grow with browsers. The server sorts the window's events
 * (spilling to disk past 100 MB where the cluster allows); where it refuses (Atlas Free and Flex ignore
 * `allowDiskUse`), they are read along the consumer's `anonymous_time` index (`anonymousId, timestamp`),
 * hinted, which needs no sort (browsersEvents).
 */

import { fromEventDocument } from '../../contracts/event-document';
import { ORDER_COMPLETED, ORDER_REFUNDED } from '../../contracts/experiment-events';
import { readEventRecords } from '../data/events';
import { EventsCollection, type EventsIndex, indexStartingWith, sortRefused } from '../data/mongodb';
import type { ReadReport } from '../data/types';
import type { ExperimentTally, TallyOptions } from './tally';

export type ExperimentFormat = 'events' | 'mongodb';

/** Every event in the window counts (page views make shoppers); these fields are all it reads. */
const FIELDS = [
  'messageId',
  'type',
  'event',
  'name',
  'anonymousId',
  'userId',
  'timestamp',
  'receivedAt',
  'site',
  'bucket',
  'model_version',
  'properties.order_id',
  'properties.recommendation_id',
  'properties.placement',
  'properties.revenue',
  'properties.total',
  'properties.currency',
  'properties.product_id',
  'properties.sku',
  'properties.price',
  'properties.quantity',
  'properties.products.product_id',
  'properties.products.sku',
  'properties.products.price',
  'properties.products.quantity',
  'properties.products.currency',
];

type Window = Pick<TallyOptions, 'site' | 'from' | 'to'>;

/** The site and window, as a `$match`. */
function windowMatch(options: Window): Record<string, unknown> {
  const match: Record<string, unknown> = {};
  if (options.site !== undefined) match.site = options.site;
  const window: Record<string, Date> = {};
  if (options.from !== undefined) window.$gte = new Date(options.from);
  if (options.to !== undefined) window.$lt = new Date(options.to);
  if (Object.keys(window).length > 0) match.timestamp = window;
  return match;
}

/** User ids per query of their browsers (ids are at most 256 characters: 10,000 stay under 3 MB). */
export const USER_IDS_PER_QUERY = 10_000;

const PROJECT = { $project: Object.fromEntries(FIELDS.map((field) => [field, 1])) };

/**
 * The pipelines of `--format mongodb`, in the order they run: the window's events without an anonymous
 * id (a shop server's, under a user id alone); then, for those user ids, the browsers each was seen
 * with; then the browsers' orders and refunds (which browser reported each order first: it counts
 * once, site-wide; and each refund, taken off where its order counts, whichever browser that is); then
 * every browser's events, sorted by browser, so the tally holds one browser at a time.
 */
export const experimentPipelines = {
  userOnly: (options: Window): object[] => [
    { $match: { ...windowMatch(options), anonymousId: { $not: { $type: 'string' } } } },
    PROJECT,
  ],
  browsersOf: (options: Window, userIds: string[]): object[] => [
    { $match: { ...windowMatch(options), userId: { $in: userIds }, anonymousId: { $type: 'string' } } },
    { $group: { _id: '$userId', browsers: { $addToSet: '$anonymousId' } } },
  ],
  orders: (options: Window): object[] => [
    {
      $match: {
        ...windowMatch(options),
        anonymousId: { $type: 'string' },
        type: 'track',
        event: { $in: [ORDER_COMPLETED, ORDER_REFUNDED] },
      },
    },
    PROJECT,
  ],
  browsers: (options: Window, order: BrowserOrder = UNINDEXED_BROWSER_ORDER): object[] => [
    { $match: { ...windowMatch(options), anonymousId: { $type: 'string' } } },
    { $sort: order.sort },
    PROJECT,
  ],
};

/** How the browsers' events are read one browser after another: the sort, and the index that gives it. */
export interface BrowserOrder {
  sort: Record<string, 1 | -1>;
  /** The index to hint, whose key order is `sort`'s; none: the server sorts in memory. */
  hint?: string;
}

/** Without an index on `anonymousId`: sorted in memory on the server (a dedicated cluster may spill). */
const UNINDEXED_BROWSER_ORDER: BrowserOrder = { sort: { anonymousId: 1, timestamp: 1 } };

/**
 * The order of the browser-by-browser read along the first index that starts with `anonymousId`
 * (the consumer's `anonymous_time`: `anonymousId` 1, `timestamp` -1): browsers in the index's order,
 * each one's events oldest first when the index goes on with `timestamp` (scanned backward when its
 * time is descending, as `anonymous_time`'s is). The tally needs only each browser's events together;
 * oldest first makes the read the same whatever the server.
 */
export function browserOrder(indexes: readonly EventsIndex[]): BrowserOrder {
  const byBrowserAndTime = indexStartingWith(indexes, ['anonymousId', 'timestamp']);
  if (byBrowserAndTime !== undefined) {
    const browser = byBrowserAndTime.key.anonymousId as 1 | -1;
    const time = byBrowserAndTime.key.timestamp as 1 | -1;
    // Oldest first: backward when the index's time is descending, which reverses its browsers too.
    return {
      sort: { anonymousId: time === 1 ? browser : (-browser as 1 | -1), timestamp: 1 },
      hint: byBrowserAndTime.name,
    };
  }
  const byBrowser = indexStartingWith(indexes, ['anonymousId']);
  if (byBrowser !== undefined)
    return { sort: { anonymousId: byBrowser.key.anonymousId as 1 | -1 }, hint: byBrowser.name };
  return UNINDEXED_BROWSER_ORDER;
}

/** The read summary's note when no index gives the browser-by-browser order. */
export const NO_BROWSER_INDEX =
  "the events collection has no index starting with anonymousId, such as the consumer's anonymous_time: " +
  "MongoDB sorts the browsers' events in memory, which past 100 MB fails on Atlas Free and Flex clusters";

/** The read summary's note when the window's events had to be read along the browser index. */
export const READ_ALONG_BROWSER_INDEX =
  "MongoDB would not sort the window's events in memory (Atlas Free and Flex clusters ignore allowDiskUse): " +
  'read browser by browser along the anonymousId index instead, which walks every stored event, not only the window';

/**
 * Every browser's events of the window, browser by browser. First as the server chooses (the window
 * bounded by an index such as the consumer's `site_time`, then sorted, spilling to disk where the
 * cluster allows): a report of last week reads last week, not the whole collection. Only when MongoDB
 * refuses that sort (292: Atlas Free and Flex past 100 MB) along the browser index, hinted, whose
 * order needs no sort but whose walk covers every stored event. A refused sort fails before its first
 * document, so nothing has been counted twice; any other failure, or one after documents came, is the
 * read's error.
 */
async function* browsersEvents(
  events: EventsCollection,
  options: Window,
  order: BrowserOrder,
  report: ReadReport,
): AsyncGenerator<Record<string, unknown>> {
  const pipeline = experimentPipelines.browsers(options, order);
  if (order.hint === undefined) {
    yield* events.read(pipeline);
    return;
  }
  let read = 0;
  try {
    for await (const doc of events.read(pipeline)) {
      read += 1;
      yield doc;
    }
    return;
  } catch (error) {
    if (read > 0 || !sortRefused(error)) throw error;
  }
  report.notes.push(READ_ALONG_BROWSER_INDEX);
  yield* events.read(pipeline, order.hint);
}

/** Reads the events of `input` into `tally`. */
export async function readExperiment(
  format: ExperimentFormat,
  input: string,
  options: Window,
  tally: ExperimentTally,
  report: ReadReport,
  userIdsPerQuery = USER_IDS_PER_QUERY,
): Promise<void> {
  if (format === 'events') {
    // A file can hold the same event twice (two exports appended); the collection cannot (`_id`).
    for await (const [line, event] of readEventRecords(input, report, { uniqueMessageIds: true }))
      tally.add(event, line);
    return;
  }
  const events = await EventsCollection.open(input);
  try {
    let position = 0;
    for await (const doc of events.read(experimentPipelines.userOnly(options)))
      tally.add(fromEventDocument(doc), ++position);
    const userIds = tally.userOnlyIds();
    const browsersOf = new Map<string, Set<string>>();
    // In chunks: a shop whose server reports every order under the user id alone can have hundreds of
    // thousands, and one `$in` of them all would pass MongoDB's 16 MB command limit.
    for (let start = 0; start < userIds.length; start += userIdsPerQuery) {
      const chunk = userIds.slice(start, start + userIdsPerQuery);
      for await (const group of events.read(experimentPipelines.browsersOf(options, chunk)))
        browsersOf.set(String(group._id), new Set(group.browsers as string[]));
    }
    for await (const doc of events.read(experimentPipelines.orders(options)))
      tally.noteOrder(fromEventDocument(doc));
    tally.browsersSortedFrom(browsersOf);
    const order = browserOrder(await events.indexes());
    if (order.hint === undefined) report.notes.push(NO_BROWSER_INDEX);
    for await (const doc of browsersEvents(events, options, order, report))
      tally.add(fromEventDocument(doc), ++position);
  } finally {
    await events.close();
  }
}
