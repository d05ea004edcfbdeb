import { CommandError } from '../errors.ts';
import { canonicalKey } from '../storage/keys.ts';
import type { Doc } from '../types.ts';
import {
  collectionName,
  optionalBool,
  optionalCount,
  optionalDoc,
  requiredDocArray,
  wrongType,
} from './args.ts';
import type { CommandContext, CommandHandler } from './context.ts';
import { missingField } from './fields.ts';
import { checkBlockingSort, type QueryLimits, scan } from './plan.ts';
import { runFind, runPipeline } from './query.ts';

/** Stages that write to another collection: mingo would only write to a throwaway array. */
const WRITING_STAGES = ['$out', '$merge'];

function documentsOf(context: CommandContext, name: string): Doc[] {
  return context.storage.getCollection(context.db, name)?.documents() ?? [];
}

/**
 * `aggregate` (cursor form): every stage mingo implements, including $lookup and $unionWith
 * against collections of the same database. `{ aggregate: 1 }` runs on no input ($documents).
 * A `hint` orders the input by that index; a `$sort` it gives (the pipeline's first stage after
 * `$match` stages only, as MongoDB pushes only those into the query) needs no memory, any other one
 * is a blocking sort, held to the server's limit (plan.ts).
 */
export const aggregate: CommandHandler = (body, context) => {
  const target = body.aggregate;
  const name = target === 1 ? undefined : collectionName(body, 'aggregate');
  const pipeline = requiredDocArray(body, 'aggregate', 'pipeline');
  const cursorOptions = optionalDoc(body, 'aggregate', 'cursor');
  if (!cursorOptions) {
    throw new CommandError(
      'FailedToParse',
      "The 'cursor' option is required, except for aggregate with the explain argument",
    );
  }
  for (const stage of pipeline) {
    const operator = Object.keys(stage)[0] ?? '';
    if (WRITING_STAGES.includes(operator)) {
      throw new CommandError(
        'NotImplemented',
        `${operator} is not supported by the local MongoDB-compatible server`,
      );
    }
  }
  const collection = name === undefined ? undefined : context.storage.getCollection(context.db, name);
  const leading = pipeline.findIndex((stage) => Object.keys(stage)[0] !== '$match');
  const filters = pipeline.slice(0, Math.max(leading, 0)).map((stage) => stage.$match as Doc);
  const firstSort = leading >= 0 ? optionalDoc(pipeline[leading] as Doc, 'aggregate', '$sort') : undefined;
  const scanned = scan(collection, body.hint, 'aggregate', firstSort, filters);
  // A sort the scan gave is done: the documents come in its order (the index's, which refines it).
  const stages = scanned.sortProvided ? pipeline.filter((_, index) => index !== leading) : pipeline;
  const docs = runWithSortLimit(
    scanned.docs,
    stages,
    (other) => documentsOf(context, other),
    optionalBool(body, 'aggregate', 'allowDiskUse'),
    context.limits,
  );
  const ns = `${context.db}.${name ?? '$cmd.aggregate'}`;
  return { ...context.cursors.open(ns, docs, optionalCount(cursorOptions, 'aggregate', 'batchSize')) };
};

/**
 * Runs `pipeline`, each `$sort` stage held to the blocking-sort limit: the documents that reach it must
 * fit (with a `$limit` right after it, only as many as it keeps).
 */
function runWithSortLimit(
  input: Doc[],
  pipeline: Doc[],
  resolveCollection: (name: string) => Doc[],
  allowDiskUse: boolean | undefined,
  limits: QueryLimits,
): Doc[] {
  let docs = input;
  let start = 0;
  for (let index = 0; index < pipeline.length; index++) {
    if (Object.keys(pipeline[index] as Doc)[0] !== '$sort') continue;
    if (index > start) docs = runPipeline(docs, pipeline.slice(start, index), resolveCollection);
    start = index;
    const next = pipeline[index + 1]?.$limit;
    checkBlockingSort(docs, typeof next === 'number' ? next : undefined, allowDiskUse, limits, 'aggregation');
  }
  return runPipeline(docs, pipeline.slice(start), resolveCollection);
}

/** `count` (what estimatedDocumentCount and the legacy count() send). */
export const count: CommandHandler = (body, context) => {
  const name = collectionName(body, 'count');
  const query = optionalDoc(body, 'count', 'query') ?? {};
  const skip = optionalCount(body, 'count', 'skip');
  const limit = optionalCount(body, 'count', 'limit');
  const docs = documentsOf(context, name);
  if (Object.keys(query).length === 0 && !skip && !limit) return { n: docs.length };
  return { n: runFind(docs, { filter: query, skip, limit }).length };
};

/** `distinct`: distinct values at a (dotted) key, arrays unwound as MongoDB does. */
export const distinct: CommandHandler = (body, context) => {
  const name = collectionName(body, 'distinct');
  const key = body.key;
  if (key === undefined) throw missingField('distinct.key');
  if (typeof key !== 'string') throw wrongType('distinct', 'key', key, 'string');
  if (key.length === 0) {
    throw new CommandError('TypeMismatch', "BSON field 'distinct.key' must be a non-empty string");
  }
  const matched = runFind(documentsOf(context, name), {
    filter: optionalDoc(body, 'distinct', 'query') ?? {},
  });
  const projected = runPipeline(matched, [{ $project: { _id: 0, value: `$${key}` } }], () => []);
  const seen = new Map<string, unknown>();
  for (const row of projected) {
    const values = Array.isArray(row.value) ? row.value : [row.value];
    for (const value of values) {
      if (value !== undefined && !seen.has(canonicalKey(value))) seen.set(canonicalKey(value), value);
    }
  }
  return { values: [...seen.values()] };
};
