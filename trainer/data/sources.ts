/** Opens a data source by its DESIGN.md format name. */

import path from 'node:path';
import { stitchIdentities } from './identities';
import { eventsDatabase } from './mongodb-database';
import { onlineRetailSource } from './online-retail';
import type { DataSource, Interaction } from './types';

export const FORMATS = ['online-retail', 'movielens', 'events', 'mongodb'] as const;
export type Format = (typeof FORMATS)[number];

/** True when `value` is one of the supported input formats. */
export function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

/**
 * What a format's prices are, for the bundle's `price_source` (contracts/manifest.ts): an order
 * history is the shop's own export (MovieLens has no prices), events came through `/v1/events`,
 * where anyone can send any price.
 */
export function dataPriceSource(format: Format): 'orders' | 'events' {
  switch (format) {
    case 'online-retail':
    case 'movielens':
      return 'orders';
    case 'events':
    case 'mongodb':
      return 'events';
  }
}

/**
 * What a record (a bundle's manifest, an eval or backtest JSON) may say the data was: a file's name,
 * or for mongodb the database the reader reads (the connection string's path, else MONGODB_DB, else
 * `rx`), never the string itself: it may carry a password (the basename of `mongodb://user:pw@host`
 * is `user:pw@host`).
 */
export function inputName(format: Format, input: string): string {
  if (format !== 'mongodb') return path.basename(input);
  return eventsDatabase(input);
}

/** What a command reads its input for; each reader takes what applies to it. */
export interface SourceOptions {
  /**
   * Online Retail: keep order lines without a customer id (guest sales), for the demand forecast.
   * The events readers keep anonymous shoppers anyway (under their anonymous id).
   */
  guestSales?: boolean;
  /** Online Retail: the currency of prices in a file without a `Currency` column (default GBP). */
  currency?: string;
}

/** The data source for `format` reading `input` (a path, or a connection string for mongodb). */
export async function openSource(
  format: Format,
  input: string,
  options: SourceOptions = {},
): Promise<DataSource> {
  switch (format) {
    case 'online-retail':
      return onlineRetailSource(input, options);
    case 'movielens':
      return (await import('./movielens')).movielensSource(input);
    case 'events':
      return (await import('./events')).eventsSource(input);
    case 'mongodb':
      return (await import('./mongodb')).mongodbSource(input);
  }
}

/**
 * Reads every interaction of a source into memory (interactions are small objects). For the events
 * readers, a shopper's activity from before they signed in then joins theirs (identity stitching):
 * the link can come from any event, after that activity or before it, so only the whole input can
 * tell.
 */
export async function readAll(source: DataSource): Promise<Interaction[]> {
  const all: Interaction[] = [];
  for await (const it of source.interactions()) all.push(it);
  if (source.identities) stitchIdentities(all, source.identities, source.report);
  return all;
}
