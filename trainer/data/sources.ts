/** Opens a data source by its DESIGN.md format name. */
import { onlineRetailSource } from './online-retail';
import type { DataSource } from './types';

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

/** Reads every interaction of a source into memory (interactions are small objects). */
export async function readAll(source: DataSource): Promise<import('./types').Interaction[]> {
  const all = [];
  for await (const it of source.interactions()) all.push(it);
  return all;
}
