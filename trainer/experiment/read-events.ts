/**
 * The stored events the experiment report reads: a JSONL export (`--format events`) or the events
 * collection itself (`--format mongodb`), where the server does the filtering (site, time window and
 * the fields the report reads) so only what counts crosses the wire.
 */
import { readEventRecords } from '../data/events';
import { readEventDocuments } from '../data/mongodb';
import type { ReadReport } from '../data/types';
import type { TallyOptions } from './tally';

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

/** The pipeline for `--format mongodb`: the window and site filters, then only FIELDS. */
export function experimentPipeline(options: Pick<TallyOptions, 'site' | 'from' | 'to'>): object[] {
  const match: Record<string, unknown> = {};
  if (options.site !== undefined) match.site = options.site;
  const window: Record<string, Date> = {};
  if (options.from !== undefined) window.$gte = new Date(options.from);
  if (options.to !== undefined) window.$lt = new Date(options.to);
  if (Object.keys(window).length > 0) match.timestamp = window;
  return [{ $match: match }, { $project: Object.fromEntries(FIELDS.map((field) => [field, 1])) }];
}

/** The events of `input` with their positions (line or document number). */
export async function* experimentEvents(
  format: ExperimentFormat,
  input: string,
  options: Pick<TallyOptions, 'site' | 'from' | 'to'>,
  report: ReadReport,
): AsyncGenerator<[number, Record<string, unknown>]> {
  if (format === 'events') {
    yield* readEventRecords(input, report);
    return;
  }
  let position = 0;
  for await (const event of readEventDocuments(input, experimentPipeline(options))) {
    position += 1;
    yield [position, event];
  }
}
