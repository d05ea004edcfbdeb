import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';

/**
 * The fields MongoDB's command parser accepts, as its IDL declares them (src/mongo/idl/
 * generic_argument.idl and each command's .idl). Its commands are `strict`: any other field fails the
 * whole command with 40415 "BSON field 'find.foo' is an unknown field.", and a required field that is
 * missing with 40414 "... is missing but a required field". A misspelled option (`projecton`,
 * `returnNew`) is then refused here as there, instead of being ignored here and refused on Atlas.
 *
 * Fields of later server versions are accepted too, so a client written for one still runs here.
 */

/** Arguments every command takes (`generic_args_api_v1` and `generic_args_unstable_v1`). */
const GENERIC_ARGUMENTS = [
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  '$db',
  'maxTimeMS',
  'readConcern',
  'writeConcern',
  'lsid',
  'clientOperationKey',
  'txnNumber',
  'autocommit',
  'startTransaction',
  'stmtId',
  'comment',
  '$readPreference',
  '$clusterTime',
  '$audit',
  '$client',
  '$configServerState',
  'allowImplicitCollectionCreation',
  '$oplogQueryData',
  '$queryOptions',
  '$replData',
  'databaseVersion',
  'shardVersion',
  'tracking_info',
  'coordinator',
  'maxTimeMSOpOnly',
  '$configTime',
  '$topologyTime',
  'txnRetryCounter',
  'mayBypassWriteBlocking',
  '$tenant',
  'expectPrefix',
  'usesDefaultMaxTimeMS',
  'versionContext',
  'rawData',
];

/** What insert, update and delete share (`WriteCommandRequestBase`). */
const WRITE_COMMAND_BASE = [
  'bypassDocumentValidation',
  'ordered',
  'stmtIds',
  'isTimeseriesNamespace',
  'collectionUUID',
  'encryptionInformation',
  'bypassEmptyTsReplacement',
];

/** Each strict command's own fields (its name, the first field, aside). */
const COMMAND_FIELDS: Record<string, readonly string[]> = {
  find: [
    'filter',
    'projection',
    'sort',
    'hint',
    'collation',
    'skip',
    'limit',
    'batchSize',
    'ntoreturn',
    'singleBatch',
    'allowDiskUse',
    'min',
    'max',
    'returnKey',
    'showRecordId',
    'tailable',
    'oplogReplay',
    'noCursorTimeout',
    'awaitData',
    'allowPartialResults',
    'let',
    'options',
    'term',
    'readOnce',
    'allowSpeculativeMajorityRead',
    '$_requestResumeToken',
    '$_resumeAfter',
    '$_startAt',
    'runtimeConstants',
    'collectionUUID',
    'encryptionInformation',
    'mirrored',
    'includeQueryStatsMetrics',
  ],
  getMore: ['collection', 'batchSize', 'term', 'lastKnownCommittedOpTime', 'includeQueryStatsMetrics'],
  killCursors: ['cursors'],
  aggregate: [
    'pipeline',
    'explain',
    'allowDiskUse',
    'cursor',
    'bypassDocumentValidation',
    'collation',
    'hint',
    'let',
    'needsMerge',
    'fromMongos',
    '$_requestReshardingResumeToken',
    'exchange',
    'runtimeConstants',
    'isMapReduceCommand',
    'collectionUUID',
    '$_passthroughToShard',
    '$_generateV2ResumeTokens',
    'encryptionInformation',
    '$_externalDataSources',
    'sampleId',
    '$_isClusterQueryWithoutShardKeyCmd',
    'includeQueryStatsMetrics',
  ],
  count: [
    'query',
    'limit',
    'skip',
    'hint',
    'collation',
    'fields',
    'encryptionInformation',
    'mirrored',
    'sampleId',
  ],
  distinct: ['key', 'query', 'collation', 'hint', 'mirrored', 'sampleId'],
  insert: ['documents', ...WRITE_COMMAND_BASE],
  update: ['updates', 'let', 'runtimeConstants', 'mirrored', ...WRITE_COMMAND_BASE],
  delete: ['deletes', 'let', 'runtimeConstants', ...WRITE_COMMAND_BASE],
  findAndModify: [
    'query',
    'fields',
    'sort',
    'batchSize',
    'singleBatch',
    'hint',
    'collation',
    'arrayFilters',
    'remove',
    'update',
    'upsert',
    'new',
    'bypassDocumentValidation',
    'let',
    'runtimeConstants',
    'encryptionInformation',
    'mirrored',
    'sampleId',
  ],
  createIndexes: [
    'v',
    'indexes',
    'ignoreUnknownIndexOptions',
    'commitQuorum',
    'isTimeseriesNamespace',
    'collectionUUID',
  ],
  listIndexes: ['cursor', 'includeBuildUUIDs', 'includeIndexBuildInfo', 'isTimeseriesNamespace'],
  dropIndexes: ['index', 'isTimeseriesNamespace', 'collectionUUID'],
  listCollections: ['cursor', 'filter', 'nameOnly', 'authorizedCollections', 'includePendingDrops'],
  listDatabases: ['filter', 'nameOnly', 'authorizedDatabases'],
  create: [
    'capped',
    'autoIndexId',
    'idIndex',
    'size',
    'max',
    'storageEngine',
    'validator',
    'validationLevel',
    'validationAction',
    'indexOptionDefaults',
    'viewOn',
    'pipeline',
    'collation',
    'changeStreamPreAndPostImages',
    'timeseries',
    'clusteredIndex',
    'expireAfterSeconds',
    'encryptedFields',
    'recordPreImages',
    'temp',
    'flags',
    'collectionUUID',
  ],
  drop: ['collectionUUID', 'isTimeseriesNamespace'],
  dropDatabase: [],
};

const ALLOWED = new Map<string, ReadonlySet<string>>(
  Object.entries(COMMAND_FIELDS).map(([command, fields]) => [
    command,
    new Set([command, ...GENERIC_ARGUMENTS, ...fields]),
  ]),
);
ALLOWED.set('findandmodify', new Set(['findandmodify', ...(ALLOWED.get('findAndModify') ?? [])]));
ALLOWED.set('deleteIndexes', new Set(['deleteIndexes', ...(ALLOWED.get('dropIndexes') ?? [])]));

/** 40415 for a field MongoDB's parser does not know: `BSON field 'update.updates.foo' is an unknown field.` */
export function unknownField(path: string): CommandError {
  return new CommandError('Location40415', `BSON field '${path}' is an unknown field.`);
}

/** 40414 for a required field that is absent: `BSON field 'update.updates.q' is missing but a required field`. */
export function missingField(path: string): CommandError {
  return new CommandError('Location40414', `BSON field '${path}' is missing but a required field`);
}

/**
 * Refuses a command carrying a field its MongoDB parser does not know (40415), before it runs. The
 * handshake, authentication and diagnostic commands are not checked: their parsers vary by version and
 * the driver alone sends them.
 */
export function checkCommandFields(command: string, body: Doc): void {
  const allowed = ALLOWED.get(command);
  if (!allowed) return;
  for (const field of Object.keys(body)) {
    if (!allowed.has(field)) throw unknownField(`${command}.${field}`);
  }
}

/** The fields of one `updates` statement (`UpdateOpEntry`), of one `deletes` one (`DeleteOpEntry`). */
const UPDATE_STATEMENT_FIELDS = new Set([
  'q',
  'u',
  'c',
  'arrayFilters',
  'hint',
  'multi',
  'upsert',
  'upsertSupplied',
  'collation',
  'sampleId',
  '$_allowShardKeyUpdatesWithoutFullShardKeyInQuery',
]);
const DELETE_STATEMENT_FIELDS = new Set(['q', 'limit', 'hint', 'collation', 'sampleId']);

/**
 * Checks the statements of an update or delete as MongoDB's parser does, all before any runs: an
 * unknown field is 40415, a missing `q` (or `u`, or a delete's `limit`) 40414, a `q` that is not a
 * document 14. The whole command fails, none of its statements is applied.
 */
export function checkWriteStatements(command: 'update' | 'delete', statements: readonly Doc[]): void {
  const arrayField = command === 'update' ? 'updates' : 'deletes';
  const allowed = command === 'update' ? UPDATE_STATEMENT_FIELDS : DELETE_STATEMENT_FIELDS;
  const required = command === 'update' ? ['q', 'u'] : ['q', 'limit'];
  for (const statement of statements) {
    for (const field of Object.keys(statement)) {
      if (!allowed.has(field)) throw unknownField(`${command}.${arrayField}.${field}`);
    }
    for (const field of required) {
      if (statement[field] === undefined) throw missingField(`${command}.${arrayField}.${field}`);
    }
  }
}
