import { Long } from 'bson';
import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';
import {
  collectionName,
  optionalBool,
  optionalCount,
  optionalDoc,
  optionalNumber,
  wrongType,
} from './args.ts';
import type { CommandHandler } from './context.ts';
import { missingField } from './fields.ts';
import { checkBlockingSort, scan } from './plan.ts';
import { runFind } from './query.ts';

/**
 * `find`: the whole result is computed once; the first batch is returned and the rest kept on a cursor.
 * A `hint` orders the scan by that index; a sort it does not give is a blocking sort, held to the
 * server's limit (plan.ts).
 */
export const find: CommandHandler = (body, context) => {
  const name = collectionName(body, 'find');
  const ns = `${context.db}.${name}`;
  const batchSize = optionalCount(body, 'find', 'batchSize');
  const collection = context.storage.getCollection(context.db, name);
  const filter = optionalDoc(body, 'find', 'filter') ?? {};
  const requested = optionalDoc(body, 'find', 'sort');
  const sort = requested && Object.keys(requested).length > 0 ? requested : undefined;
  const skip = optionalCount(body, 'find', 'skip');
  const limit = optionalCount(body, 'find', 'limit');
  let candidates: Doc[];
  let sortProvided = false;
  if (body.hint === undefined || body.hint === null) candidates = collection?.candidates(filter) ?? [];
  else ({ docs: candidates, sortProvided } = scan(collection, body.hint, 'find', sort, [filter]));
  const spec = {
    filter,
    sort: sortProvided ? undefined : sort,
    projection: optionalDoc(body, 'find', 'projection'),
    skip,
    limit,
    collation: optionalDoc(body, 'find', 'collation'),
  };
  if (sort && !sortProvided) {
    const matched = runFind(candidates, { filter, collation: spec.collation });
    const keep = limit ? limit + (skip ?? 0) : undefined;
    checkBlockingSort(
      matched,
      keep,
      optionalBool(body, 'find', 'allowDiskUse'),
      context.limits,
      'find command',
    );
    candidates = matched;
  }
  // The filter is compiled even for a missing collection so a bad operator is reported as MongoDB does.
  const docs = runFind(candidates, spec);
  const singleBatch = optionalBool(body, 'find', 'singleBatch') === true;
  return { ...context.cursors.open(ns, docs, batchSize, singleBatch) };
};

function cursorIdOf(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (value instanceof Long) return value.toNumber();
  throw new CommandError('TypeMismatch', `BSON field '${field}' is the wrong type, expected type 'long'`);
}

/** `getMore`: the next batch of an open cursor. */
export const getMore: CommandHandler = (body, context) => {
  const id = cursorIdOf(body.getMore, 'getMore.getMore');
  const collection = body.collection;
  if (collection === undefined) throw missingField('getMore.collection');
  if (typeof collection !== 'string') throw wrongType('getMore', 'collection', collection, 'string');
  const batchSize = optionalNumber(body, 'getMore', 'batchSize');
  return { ...context.cursors.getMore(id, `${context.db}.${collection}`, batchSize || undefined) };
};

/** `killCursors`: closes cursors the client no longer needs. */
export const killCursors: CommandHandler = (body, context) => {
  const ids = body.cursors;
  if (ids === undefined) throw missingField('killCursors.cursors');
  if (!Array.isArray(ids))
    throw new CommandError('TypeMismatch', "BSON field 'killCursors.cursors' must be an array");
  const { killed, notFound } = context.cursors.kill(ids.map((id) => cursorIdOf(id, 'killCursors.cursors')));
  return {
    cursorsKilled: killed.map((id) => Long.fromNumber(id)),
    cursorsNotFound: notFound.map((id) => Long.fromNumber(id)),
    cursorsAlive: [],
    cursorsUnknown: [],
  };
};
