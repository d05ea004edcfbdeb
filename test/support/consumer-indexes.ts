import type { Db } from 'mongodb';

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
