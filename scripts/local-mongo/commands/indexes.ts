import { EJSON } from 'bson';
import { CommandError } from '../errors.ts';
import type { Collection } from '../storage/collection.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { collectionName, optionalDoc, requiredDocArray } from './args.ts';
import type { CommandContext, CommandHandler } from './context.ts';

type IndexSpec = Doc & { name: string; key: Doc };

function parseIndexSpec(raw: Doc): IndexSpec {
  const { key, name } = raw;
  if (!isPlainDoc(key) || Object.keys(key).length === 0) {
    throw new CommandError(
      'FailedToParse',
      "The 'key' field of an index specification must be a non-empty object",
    );
  }
  if (typeof name !== 'string' || name.length === 0) {
    throw new CommandError(
      'FailedToParse',
      `The 'name' field is a required property of an index specification: ${EJSON.stringify(key)}`,
    );
  }
  const spec: IndexSpec = { ...raw, key, name };
  if ('unique' in raw) spec.unique = Boolean(raw.unique);
  return spec;
}

function existingCollection(context: CommandContext, name: string): Collection {
  const collection = context.storage.getCollection(context.db, name);
  if (!collection) throw new CommandError('NamespaceNotFound', `ns does not exist: ${context.db}.${name}`);
  return collection;
}

/**
 * `createIndexes`: idempotent for an identical spec; `unique: true` is enforced from then on
 * and fails with 11000 when existing documents already collide. All or nothing, as MongoDB: every
 * spec is checked before any is created, so one conflicting spec leaves the others uncreated too.
 */
export const createIndexes: CommandHandler = (body, context) => {
  const name = collectionName(body, 'createIndexes');
  const specs = requiredDocArray(body, 'createIndexes', 'indexes').map(parseIndexSpec);
  const existed = context.storage.getCollection(context.db, name) !== undefined;
  const collection = context.storage.ensureCollection(context.db, name);
  const numIndexesBefore = collection.listIndexes().length;
  const steps = specs.map((spec) => collection.prepareIndex(spec));
  let created = 0;
  for (const add of steps) {
    if (!add) continue;
    add();
    created += 1;
  }
  const reply: Doc = {
    numIndexesBefore,
    numIndexesAfter: collection.listIndexes().length,
    createdCollectionAutomatically: !existed,
  };
  if (created === 0) reply.note = 'all indexes already exist';
  return reply;
};

/** `listIndexes`: NamespaceNotFound (26) for a missing collection, as MongoDB answers. */
export const listIndexes: CommandHandler = (body, context) => {
  const name = collectionName(body, 'listIndexes');
  const collection = existingCollection(context, name);
  const batchSize = optionalDoc(body, 'listIndexes', 'cursor')?.batchSize;
  return {
    ...context.cursors.open(
      `${context.db}.${name}`,
      collection.listIndexes(),
      typeof batchSize === 'number' ? batchSize : undefined,
    ),
  };
};

/** `dropIndexes`: by name, by key pattern, a list of names, or `'*'` for all but `_id_`. */
export const dropIndexes: CommandHandler = (body, context) => {
  const name = collectionName(body, 'dropIndexes');
  const collection = existingCollection(context, name);
  const nIndexesWas = collection.listIndexes().length;
  const target = body.index;
  const secondary = collection.listIndexes().filter((spec) => spec.name !== '_id_');
  let names: string[];
  if (target === '*') names = secondary.map((spec) => String(spec.name));
  else if (typeof target === 'string') names = [target];
  else if (Array.isArray(target) && target.every((item) => typeof item === 'string')) names = target;
  else if (isPlainDoc(target)) {
    const wanted = EJSON.stringify(target);
    const match = collection.listIndexes().find((spec) => EJSON.stringify(spec.key) === wanted);
    if (!match) throw new CommandError('IndexNotFound', `can't find index with key: ${wanted}`);
    names = [String(match.name)];
  } else
    throw new CommandError(
      'TypeMismatch',
      "BSON field 'dropIndexes.index' must be a string, array or object",
    );
  for (const indexName of names) collection.dropIndex(indexName);
  return { nIndexesWas };
};
