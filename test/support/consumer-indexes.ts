import { type Db, MongoClient } from 'mongodb';
import type { EventDocument } from '../../contracts/event-document';
import { startLocalMongo } from '../../scripts/local-mongo/index';
import { dropTestDatabase, realTestMongoUri, testDatabaseName } from './test-mongo';

/**
 * The consumer's own `ensureIndexes` (worker/src/consumer/collections.ts), so that a reader under test
 * meets the indexes the worker really creates. Loaded at run time: that module is the worker's, whose
 * types (the Workers runtime) the Node typecheck does not have.
 */
export async function ensureConsumerIndexes(db: Db): Promise<void> {
  const collections: string = '../../worker/src/consumer/collections';
  const worker = (await import(/* @vite-ignore */ collections)) as { ensureIndexes(db: Db): Promise<void> };
  await worker.ensureIndexes(db);
}

/** The events twice over, with the consumer's indexes and without, on a server held to a tiny sort. */
export interface SortRefusingMongo {
  /** The server's connection string (no database). */
  base: string;
  /** The database whose events have the consumer's indexes, and the one whose events have none. */
  indexed: string;
  bare: string;
  close(): Promise<void>;
}

/**
 * A MongoDB that refuses to sort in memory, as Atlas Free and Flex clusters do past 100 MB (292; they
 * ignore allowDiskUse): the local server held to 1 KB and ignoring allowDiskUse, or with
 * RX_TEST_MONGODB_URI a real server with its own limit, in databases of this run's own. `documents` go
 * into two databases: one with the consumer's indexes, one without.
 */
export async function sortRefusingMongo(
  documents: readonly EventDocument[],
  names: { indexed: string; bare: string },
): Promise<SortRefusingMongo> {
  const real = realTestMongoUri();
  const strict = real
    ? undefined
    : await startLocalMongo({
        host: '127.0.0.1',
        port: 0,
        blockingSortBytes: 1024,
        ignoreAllowDiskUse: true,
      });
  const base = real ?? strict?.uri ?? '';
  const indexed = real ? testDatabaseName() : names.indexed;
  const bare = real ? testDatabaseName() : names.bare;
  const client = new MongoClient(base);
  try {
    for (const name of [indexed, bare])
      await client
        .db(name)
        .collection<EventDocument>('events')
        .insertMany([...documents]);
    await ensureConsumerIndexes(client.db(indexed));
  } finally {
    await client.close();
  }
  return {
    base,
    indexed,
    bare,
    async close() {
      if (real) for (const name of [indexed, bare]) await dropTestDatabase(real, name);
      await strict?.close();
    },
  };
}
