/**
 * The stored events the experiment report reads: a JSONL export (`--format events`), or the events
 * collection itself (`--format mongodb`). There the server does the filtering (site, time window and
 * the fields the report reads), so only what counts crosses the wire, and sorts the events by browser,
 * so the report's memory does not grow with browsers.
 */
import { ORDER_COMPLETED, ORDER_REFUNDED } from '../../contracts/experiment-events';
import { readEventRecords } from '../data/events';
import { readDocuments, readEventDocuments } from '../data/mongodb';
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
  browsers: (options: Window): object[] => [
    { $match: { ...windowMatch(options), anonymousId: { $type: 'string' } } },
    { $sort: { anonymousId: 1 } },
    PROJECT,
  ],
};

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
  let position = 0;
  for await (const event of readEventDocuments(input, experimentPipelines.userOnly(options)))
    tally.add(event, ++position);
  const userIds = tally.userOnlyIds();
  const browsersOf = new Map<string, Set<string>>();
  // In chunks: a shop whose server reports every order under the user id alone can have hundreds of
  // thousands, and one `$in` of them all would pass MongoDB's 16 MB command limit.
  for (let start = 0; start < userIds.length; start += userIdsPerQuery) {
    const chunk = userIds.slice(start, start + userIdsPerQuery);
    for await (const group of readDocuments(input, experimentPipelines.browsersOf(options, chunk)))
      browsersOf.set(String(group._id), new Set(group.browsers as string[]));
  }
  for await (const event of readEventDocuments(input, experimentPipelines.orders(options)))
    tally.noteOrder(event);
  tally.browsersSortedFrom(browsersOf);
  for await (const event of readEventDocuments(input, experimentPipelines.browsers(options)))
    tally.add(event, ++position);
}
