import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';
import { collectionName, optionalBool, optionalDoc } from './args.ts';
import type { CommandHandler } from './context.ts';
import { compileFilter } from './query.ts';

/** Creation options this server cannot honour; refusing beats silently ignoring them. */
const UNSUPPORTED_CREATE_OPTIONS = ['viewOn', 'capped', 'timeseries', 'clusteredIndex', 'encryptedFields'];

/** `listCollections` (with `filter` and `nameOnly`). */
export const listCollections: CommandHandler = (body, context) => {
  const nameOnly = optionalBool(body, 'listCollections', 'nameOnly') === true;
  const filter = compileFilter(optionalDoc(body, 'listCollections', 'filter') ?? {});
  const entries: Doc[] = context.storage
    .collections(context.db)
    .map((collection) =>
      nameOnly
        ? { name: collection.name, type: 'collection' }
        : {
            name: collection.name,
            type: 'collection',
            options: {},
            info: { readOnly: false },
            idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
          },
    )
    .filter((entry) => filter.test(entry));
  const batchSize = optionalDoc(body, 'listCollections', 'cursor')?.batchSize;
  return {
    ...context.cursors.open(
      `${context.db}.$cmd.listCollections`,
      entries,
      typeof batchSize === 'number' ? batchSize : undefined,
    ),
  };
};

/** `listDatabases`: databases that hold at least one collection. */
export const listDatabases: CommandHandler = (body, context) => {
  const filter = compileFilter(optionalDoc(body, 'listDatabases', 'filter') ?? {});
  const databases = context.storage
    .databaseNames()
    .map((name) => ({ name, sizeOnDisk: context.storage.databaseSize(name), empty: false }))
    .filter((entry) => filter.test(entry));
  if (optionalBool(body, 'listDatabases', 'nameOnly') === true) {
    return { databases: databases.map(({ name }) => ({ name })) };
  }
  const totalSize = databases.reduce((sum, entry) => sum + entry.sizeOnDisk, 0);
  return { databases, totalSize, totalSizeMb: Math.round(totalSize / 1024 / 1024) };
};

/** `create`: an empty collection; NamespaceExists (48) when present. */
export const create: CommandHandler = (body, context) => {
  const name = collectionName(body, 'create');
  for (const option of UNSUPPORTED_CREATE_OPTIONS) {
    if (body[option] !== undefined) {
      throw new CommandError(
        'NotImplemented',
        `create with '${option}' is not supported by the local MongoDB-compatible server`,
      );
    }
  }
  context.storage.createCollection(context.db, name);
  return {};
};

/** `drop`: like MongoDB 7.0, dropping a missing collection succeeds. */
export const drop: CommandHandler = (body, context) => {
  const name = collectionName(body, 'drop');
  const collection = context.storage.getCollection(context.db, name);
  const nIndexesWas = collection?.listIndexes().length ?? 0;
  context.storage.dropCollection(context.db, name);
  return { ns: `${context.db}.${name}`, nIndexesWas };
};

/** `dropDatabase`. */
export const dropDatabase: CommandHandler = (_body, context) => {
  context.storage.dropDatabase(context.db);
  return { dropped: context.db };
};
