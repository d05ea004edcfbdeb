import { EJSON } from 'bson';
import { CommandError, type ErrorCodeName } from '../errors.ts';
import type { Collection } from '../storage/collection.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { collectionName, optionalBool, optionalDoc, requiredDocArray } from './args.ts';
import { bsonTypeOf, formatBsonValue, isBsonNumber } from './bson-values.ts';
import type { CommandContext, CommandHandler } from './context.ts';

type IndexSpec = Doc & { name: string; key: Doc };

/** The fields an index specification may have (MongoDB's `allowedFieldNames`, index_key_validate.cpp). */
const INDEX_SPEC_FIELDS = new Set([
  'key',
  'name',
  'v',
  'ns',
  '_id',
  'background',
  'unique',
  'hidden',
  'partialFilterExpression',
  'sparse',
  'expireAfterSeconds',
  'storageEngine',
  'weights',
  'default_language',
  'language_override',
  'textIndexVersion',
  '2dsphereIndexVersion',
  'bits',
  'min',
  'max',
  'bucketSize',
  'collation',
  'wildcardProjection',
  'columnstoreProjection',
  'columnstoreCompressor',
  'coarsestIndexedLevel',
  'finestIndexedLevel',
  'dropDups',
  'prepareUnique',
  'clustered',
  'originalSpec',
]);

/** The index types a string value in a key pattern may name. */
const INDEX_PLUGINS = new Set(['2d', '2dsphere', '2dsphere_bucket', 'text', 'hashed', 'columnstore']);

/** A number of any BSON numeric type as a JavaScript number, else undefined. */
function numericValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (!isBsonNumber(value)) return undefined;
  return Number(String(value));
}

/**
 * Why MongoDB refuses a key pattern (its `validateKeyPattern` for version 2 indexes), or undefined:
 * each value is a non-zero number or the name of one index type, and each field a non-empty path
 * whose parts do not start with `$` (a DBRef's `$id`/`$ref`/`$db` below the top, or `$**`, aside).
 */
function keyPatternProblem(key: Doc): string | undefined {
  const values = Object.values(key);
  if (values.length === 0) return 'Index keys cannot be empty.';
  const plugin = values.find((value): value is string => typeof value === 'string');
  if (plugin !== undefined && plugin !== '' && !INDEX_PLUGINS.has(plugin)) {
    return plugin === 'geoHaystack'
      ? 'GeoHaystack indexes cannot be created in version 5.0 and above'
      : `Unknown index plugin '${plugin}'`;
  }
  for (const [field, value] of Object.entries(key)) {
    const number = numericValue(value);
    if (number !== undefined) {
      if (Number.isNaN(number)) return 'Values in the index key pattern cannot be NaN.';
      if (number === 0) return 'Values in the index key pattern cannot be 0.';
    } else if (typeof value !== 'string') {
      return `Values in v:2 index key pattern cannot be of type ${bsonTypeOf(value)}. Only numbers > 0, numbers < 0, and strings are allowed.`;
    } else if (value !== plugin) {
      return "Can't use more than one index plugin for a single index.";
    }
    if (field === '$**' && (number !== undefined || value === 'text')) continue;
    const parts = field.split('.');
    if (field === '') return 'Index keys cannot be an empty field.';
    for (const [index, part] of parts.entries()) {
      if (part === '') return 'Index keys cannot contain an empty field.';
      if (!part.startsWith('$')) continue;
      const partOfDbRef = index > 0 && (part === '$id' || part === '$ref' || part === '$db');
      const wildcard = index === parts.length - 1 && part === '$**' && number !== undefined;
      if (!partOfDbRef && !wildcard) {
        return "Index key contains an illegal field name: field name starts with '$'.";
      }
    }
  }
  if (values.some((value) => value === '')) return 'Values in the index key pattern cannot be empty strings';
  return undefined;
}

/**
 * One index specification as MongoDB's `validateIndexSpec` checks it, each refusal with its code and,
 * as createIndexes words it, "Error in specification { ... } :: caused by :: ...": an unknown field is
 * 197 InvalidIndexSpecificationOption (dropped instead with `ignoreUnknownIndexOptions`), a key pattern
 * MongoDB cannot index (`{ q: true }`, `{ q: 0 }`, an unknown type, a `$` field) 67 CannotCreateIndex,
 * no key or no name 9, a key or name of the wrong type 14, an empty name 67, `*` 2.
 */
function parseIndexSpec(given: Doc, ignoreUnknownOptions: boolean): IndexSpec {
  const raw = ignoreUnknownOptions
    ? Object.fromEntries(Object.entries(given).filter(([field]) => INDEX_SPEC_FIELDS.has(field)))
    : given;
  const text = formatBsonValue(raw);
  const refuse = (codeName: ErrorCodeName, reason: string) =>
    new CommandError(codeName, `Error in specification ${text} :: caused by :: ${reason}`);
  const unknown = Object.keys(raw).find((field) => !INDEX_SPEC_FIELDS.has(field));
  if (unknown !== undefined) {
    throw refuse(
      'InvalidIndexSpecificationOption',
      `The field '${unknown}' is not valid for an index specification. Specification: ${text}`,
    );
  }
  const { key, name } = raw;
  if (key !== undefined) {
    if (!isPlainDoc(key)) {
      throw refuse('TypeMismatch', `The field 'key' must be an object, but got ${bsonTypeOf(key)}`);
    }
    const problem = keyPatternProblem(key);
    if (problem !== undefined) throw refuse('CannotCreateIndex', problem);
  }
  if (name !== undefined && typeof name !== 'string') {
    throw refuse('TypeMismatch', `The field 'name' must be a string, but got ${bsonTypeOf(name)}`);
  }
  if (!isPlainDoc(key)) {
    throw refuse('FailedToParse', "The 'key' field is a required property of an index specification");
  }
  if (typeof name !== 'string') {
    throw refuse('FailedToParse', "The 'name' field is a required property of an index specification");
  }
  if (name === '') throw new CommandError('CannotCreateIndex', 'index name cannot be empty');
  if (name === '*') throw new CommandError('BadValue', "The index name '*' is not valid.");
  if (name === '_id_' && EJSON.stringify(key) !== EJSON.stringify({ _id: 1 })) {
    throw new CommandError(
      'BadValue',
      `The index name '_id_' is reserved for the _id index, which must have key pattern {_id: 1}, found key: ${formatBsonValue(key)}`,
    );
  }
  const spec: IndexSpec = { ...raw, key, name };
  if ('unique' in raw) spec.unique = Boolean(raw.unique);
  return spec;
}

/** Two specifications of one command with one name: 86 IndexKeySpecsConflict, as MongoDB refuses them. */
function refuseDuplicateNames(specs: readonly IndexSpec[]): void {
  const byName = new Map<string, IndexSpec>();
  for (const spec of specs) {
    const earlier = byName.get(spec.name);
    if (earlier) {
      throw new CommandError(
        'IndexKeySpecsConflict',
        `An existing index has the same name as the requested index. Requested index: ${formatBsonValue(spec)}, existing index: ${formatBsonValue(earlier)}`,
      );
    }
    byName.set(spec.name, spec);
  }
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
  const ignoreUnknownOptions = optionalBool(body, 'createIndexes', 'ignoreUnknownIndexOptions') === true;
  const specs = requiredDocArray(body, 'createIndexes', 'indexes').map((spec) =>
    parseIndexSpec(spec, ignoreUnknownOptions),
  );
  if (specs.length === 0) throw new CommandError('BadValue', 'Must specify at least one index to create');
  refuseDuplicateNames(specs);
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
