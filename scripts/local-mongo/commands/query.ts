import { BSON } from 'bson';
import { update as mingoUpdate } from 'mingo';
import { Aggregator } from 'mingo/aggregator';
import { ProcessingMode } from 'mingo/core';
import { Query } from 'mingo/query';
import type { Options } from 'mingo/types';
import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';
import { inInputOrder, MINGO_CONTEXT } from './mingo-context.ts';

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

/** mingo's options with this server's operators (mingo-context.ts). */
function withContext(options: Partial<Options> = {}): Partial<Options> {
  return { ...options, context: MINGO_CONTEXT };
}

/** A compiled filter; `test(doc)` says whether a document matches. */
export function compileFilter(filter: Doc, options: Partial<Options> = {}): Query {
  return mingoCall('invalid filter', () => new Query(filter, withContext(options)));
}

export interface FindSpec {
  filter: Doc;
  sort?: Doc;
  projection?: Doc;
  skip?: number;
  limit?: number;
  collation?: Doc;
}

/**
 * Matching documents, sorted, skipped, limited and projected, as `find` returns them. A projection
 * keeps the document's field order (`_id` first), as MongoDB's does (mingo-context.ts).
 */
export function runFind(docs: Doc[], spec: FindSpec): Doc[] {
  return mingoCall('invalid find', () => {
    const options = withContext(
      spec.collation ? { collation: spec.collation as unknown as Options['collation'] } : {},
    );
    const query = new Query(spec.filter, options);
    const cursor = query.find<Doc>(docs);
    if (spec.sort && Object.keys(spec.sort).length > 0) cursor.sort(spec.sort as Record<string, 1 | -1>);
    if (spec.skip) cursor.skip(spec.skip);
    if (spec.limit) cursor.limit(spec.limit);
    const found = cursor.all();
    const projection = spec.projection;
    if (!projection || Object.keys(projection).length === 0) return found;
    // Projected apart, one for one (every found document matches again), so each keeps its input's order.
    const projected = query.find<Doc>(found, projection).all();
    return projected.map((doc, index) => inInputOrder(doc, found[index], projection) as Doc);
  });
}

/**
 * Runs a pipeline. Inputs are cloned by mingo (CLONE_INPUT) because stages such as
 * $addFields otherwise modify the stored documents in place.
 */
export function runPipeline(docs: Doc[], pipeline: Doc[], resolveCollection: (name: string) => Doc[]): Doc[] {
  return mingoCall('invalid pipeline', () =>
    new Aggregator(
      pipeline,
      withContext({ processingMode: ProcessingMode.CLONE_INPUT, collectionResolver: resolveCollection }),
    ).run<Doc>(docs),
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
