import { BSON } from 'bson';
import { Aggregator, update as mingoUpdate, ProcessingMode, Query } from 'mingo';
import type { Options } from 'mingo/types';
import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';

/**
 * Query and aggregation semantics come from mingo; these wrappers turn its exceptions
 * (unknown operator, bad expression) into MongoDB-style command errors.
 */
function mingoCall<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof CommandError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new CommandError('BadValue', `${what}: ${message}`, { cause: error });
  }
}

/** A compiled filter; `test(doc)` says whether a document matches. */
export function compileFilter(filter: Doc, options: Partial<Options> = {}): Query {
  return mingoCall('invalid filter', () => new Query(filter, options));
}

export interface FindSpec {
  filter: Doc;
  sort?: Doc;
  projection?: Doc;
  skip?: number;
  limit?: number;
  collation?: Doc;
}

/** Matching documents, sorted, skipped, limited and projected, as `find` returns them. */
export function runFind(docs: Doc[], spec: FindSpec): Doc[] {
  return mingoCall('invalid find', () => {
    const options: Partial<Options> = spec.collation
      ? { collation: spec.collation as unknown as Options['collation'] }
      : {};
    const cursor = new Query(spec.filter, options).find<Doc>(docs, spec.projection ?? {});
    if (spec.sort && Object.keys(spec.sort).length > 0) cursor.sort(spec.sort as Record<string, 1 | -1>);
    if (spec.skip) cursor.skip(spec.skip);
    if (spec.limit) cursor.limit(spec.limit);
    return cursor.all();
  });
}

/**
 * Runs a pipeline. Inputs are cloned by mingo (CLONE_INPUT) because stages such as
 * $addFields otherwise modify the stored documents in place.
 */
export function runPipeline(docs: Doc[], pipeline: Doc[], resolveCollection: (name: string) => Doc[]): Doc[] {
  return mingoCall('invalid pipeline', () =>
    new Aggregator(pipeline, {
      processingMode: ProcessingMode.CLONE_INPUT,
      collectionResolver: resolveCollection,
    }).run<Doc>(docs),
  );
}

/** Applies a mingo update modifier to `doc` in place; returns the changed paths. */
export function applyModifier(doc: Doc, modifier: Doc, arrayFilters: Doc[] | undefined): string[] {
  return mingoCall('invalid update', () =>
    mingoUpdate(doc, modifier, arrayFilters, undefined, { cloneMode: 'deep' }),
  );
}

/** A deep copy that keeps BSON value classes (ObjectId, Date, Binary, ...). */
export function cloneDoc(doc: Doc): Doc {
  return BSON.deserialize(BSON.serialize(doc));
}
