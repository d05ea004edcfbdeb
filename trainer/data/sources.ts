/** Opens a data source by its DESIGN.md format name. */

import { stitchIdentities } from './identities';
import { onlineRetailSource } from './online-retail';
import type { DataSource, Interaction } from './types';

export const FORMATS = ['online-retail', 'movielens', 'events', 'mongodb'] as const;
export type Format = (typeof FORMATS)[number];

/** True when `value` is one of the supported input formats. */
export function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

/** The data source for `format` reading `input` (a path, or a connection string for mongodb). */
export async function openSource(format: Format, input: string): Promise<DataSource> {
  switch (format) {
    case 'online-retail':
      return onlineRetailSource(input);
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
