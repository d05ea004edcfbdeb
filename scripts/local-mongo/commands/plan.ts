import { BSON, EJSON } from 'bson';
import { Aggregator, ProcessingMode } from 'mingo';
import { CommandError } from '../errors.ts';
import type { Collection } from '../storage/collection.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { compileFilter } from './query.ts';

/**
 * What MongoDB's query engine refuses or avoids because of memory, as this server emulates it: a
 * blocking (in-memory) sort over more than `blockingSortBytes`, without `allowDiskUse`, fails with
 * 292 QueryExceededMemoryLimitNoDiskUseAllowed. A sort an index gives (a `hint` whose key order is the
 * sort's) needs no memory at all, as on MongoDB.
 */
export interface QueryLimits {
  /** MongoDB's `internalQueryMaxBlockingSortMemoryUsageBytes`: 100 MiB unless a server sets less. */
  blockingSortBytes: number;
  /**
   * Atlas Free and Flex clusters ignore `allowDiskUse` (Atlas "Unsupported Commands"): a blocking sort
   * over the limit fails even with `allowDiskUse: true`.
   */
  ignoreAllowDiskUse: boolean;
}

/** MongoDB's default limit of a blocking sort (104,857,600 bytes). */
export const DEFAULT_BLOCKING_SORT_BYTES = 100 * 1024 * 1024;

export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  blockingSortBytes: DEFAULT_BLOCKING_SORT_BYTES,
  ignoreAllowDiskUse: false,
};

type Direction = 1 | -1;

/** A `hint` resolved: the collection in natural order, or one of its indexes. */
type Hinted =
  | { kind: 'none' }
  | { kind: 'natural'; direction: Direction }
  | { kind: 'index'; name: string; key: Doc; spec: Doc };

/**
 * The index a command's `hint` names, by name or by key pattern, as MongoDB resolves it: `$natural` is
 * a collection scan, an empty one is none, and one that names no index of the collection is refused
 * with 2 BadValue "hint provided does not correspond to an existing index". On a collection that does
 * not exist there is nothing to scan and nothing to refuse.
 */
function resolveHint(hint: unknown, collection: Collection | undefined, command: string): Hinted {
  if (hint === undefined || hint === null) return { kind: 'none' };
  if (typeof hint !== 'string' && !isPlainDoc(hint)) {
    throw new CommandError('FailedToParse', `BSON field '${command}.hint' must be a string or an object`);
  }
  if (isPlainDoc(hint) && Object.keys(hint).length === 0) return { kind: 'none' };
  if (isPlainDoc(hint) && '$natural' in hint) {
    return { kind: 'natural', direction: Number(hint.$natural) < 0 ? -1 : 1 };
  }
  if (!collection) return { kind: 'none' };
  const wanted = typeof hint === 'string' ? undefined : EJSON.stringify(hint);
  const spec = collection
    .listIndexes()
    .find((index) => (wanted === undefined ? index.name === hint : EJSON.stringify(index.key) === wanted));
  if (!spec || !isPlainDoc(spec.key)) {
    throw new CommandError('BadValue', 'hint provided does not correspond to an existing index');
  }
  return { kind: 'index', name: String(spec.name), key: spec.key, spec };
}

/**
 * Fields a filter pins to one value (`{ f: v }` or `{ f: { $eq: v } }`, at its top level or in a top
 * level `$and`): an index's keys on them hold one value, so a sort on the keys after them is still in
 * index order ("Sort and Non-prefix Subset of an Index").
 */
export function equalityFields(filters: readonly Doc[]): Set<string> {
  const fields = new Set<string>();
  const visit = (filter: Doc): void => {
    for (const [field, value] of Object.entries(filter)) {
      if (field === '$and' && Array.isArray(value)) {
        for (const clause of value) if (isPlainDoc(clause)) visit(clause);
        continue;
      }
      if (field.startsWith('$')) continue;
      if (isPinned(value)) fields.add(field);
      else if (isPlainDoc(value) && Object.keys(value).length === 1 && isPinned(value.$eq)) fields.add(field);
    }
  };
  for (const filter of filters) if (isPlainDoc(filter)) visit(filter);
  return fields;
}

/** A value an equality pins a field to: not an operator document, an array or a regular expression. */
function isPinned(value: unknown): boolean {
  return value !== undefined && !isPlainDoc(value) && !Array.isArray(value) && !(value instanceof RegExp);
}

/**
 * The direction in which scanning index `key` yields documents in `sort` order, or undefined when it
 * cannot: the sort's fields must follow the index's, each in the index's direction (forward) or each in
 * the opposite one (backward); index keys the filter pins to one value may be passed over, and so may
 * sort fields it pins.
 */
export function providedDirection(key: Doc, sort: Doc, pinned: ReadonlySet<string>): Direction | undefined {
  const keys = Object.entries(key);
  let position = 0;
  let direction: Direction | undefined;
  for (const [field, wanted] of Object.entries(sort)) {
    if (wanted !== 1 && wanted !== -1) return undefined;
    while (position < keys.length && keys[position]?.[0] !== field && pinned.has(keys[position]?.[0] ?? ''))
      position += 1;
    const entry = keys[position];
    if (entry === undefined || entry[0] !== field) {
      if (pinned.has(field)) continue;
      return undefined;
    }
    const order = entry[1];
    if (order !== 1 && order !== -1) return undefined; // text, hashed, 2dsphere: no order to give
    const along: Direction = order === wanted ? 1 : -1;
    if (direction !== undefined && direction !== along) return undefined;
    direction = along;
    position += 1;
  }
  return direction ?? 1;
}

/** The documents of a scan, in the order it yields them, and whether that order is the sort's. */
export interface Scan {
  docs: Doc[];
  /** The scan's own order is the one asked for: no sort stage is needed (nor memory for one). */
  sortProvided: boolean;
}

/**
 * What the scan a command starts with yields: the collection in natural order, or with a `hint`, the
 * hinted index's entries in key order (forward, or backward when that gives `sort`; a sparse or
 * partial index holds only its documents, as on MongoDB). `sort` and `filters` are the first sort of
 * the command and the filters before it; without a hint, no sort is ever taken as given. MongoDB's
 * planner may pick an index that gives the order by itself, but only after trial runs whose outcome
 * depends on the data: a reader that needs the order hints the index, and then gets it here too.
 */
export function scan(
  collection: Collection | undefined,
  hint: unknown,
  command: string,
  sort: Doc | undefined,
  filters: readonly Doc[],
): Scan {
  const hinted = resolveHint(hint, collection, command);
  const docs = collection?.documents() ?? [];
  if (hinted.kind === 'none') return { docs, sortProvided: false };
  if (hinted.kind === 'natural')
    return { docs: hinted.direction === 1 ? docs : docs.reverse(), sortProvided: false };
  const direction = sort ? providedDirection(hinted.key, sort, equalityFields(filters)) : undefined;
  const ordered = new Aggregator([{ $sort: hinted.key }], {
    processingMode: ProcessingMode.CLONE_OFF,
  }).run<Doc>(indexed(docs, hinted.key, hinted.spec));
  // Backward is the exact reverse, ties (the record order) included, as MongoDB scans an index backward.
  return { docs: direction === -1 ? ordered.reverse() : ordered, sortProvided: direction !== undefined };
}

/** The documents an index holds: all of them, but for a sparse or a partial one. */
function indexed(docs: Doc[], key: Doc, spec: Doc): Doc[] {
  let held = docs;
  if (spec.sparse === true) {
    const fields = Object.keys(key);
    held = held.filter((doc) => fields.some((field) => valueAt(doc, field) !== undefined));
  }
  if (isPlainDoc(spec.partialFilterExpression)) {
    const filter = compileFilter(spec.partialFilterExpression);
    held = held.filter((doc) => filter.test(doc));
  }
  return held;
}

function valueAt(doc: Doc, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (!isPlainDoc(value)) return undefined;
    value = value[part];
  }
  return value;
}

/**
 * Refuses a blocking sort of `docs` that needs more memory than the server allows, as MongoDB does
 * without `allowDiskUse` (or with it, where it is ignored): 292 QueryExceededMemoryLimitNoDiskUseAllowed.
 * The memory counted is the documents' BSON size (MongoDB adds its own overhead, so it gives up a
 * little earlier); with a limit, only as many documents as it keeps (the largest ones: a top-k sort).
 */
export function checkBlockingSort(
  docs: readonly Doc[],
  keep: number | undefined,
  allowDiskUse: boolean | undefined,
  limits: QueryLimits,
  context: 'aggregation' | 'find command',
): void {
  if (allowDiskUse === true && !limits.ignoreAllowDiskUse) return;
  const limit = limits.blockingSortBytes;
  let bytes = 0;
  if (keep === undefined || keep >= docs.length) {
    for (const doc of docs) {
      bytes += BSON.calculateObjectSize(doc);
      if (bytes > limit) break;
    }
  } else {
    const sizes = docs.map((doc) => BSON.calculateObjectSize(doc)).sort((a, b) => b - a);
    for (const size of sizes.slice(0, keep)) bytes += size;
  }
  if (bytes <= limit) return;
  const where =
    context === 'aggregation'
      ? 'PlanExecutor error during aggregation'
      : 'Executor error during find command';
  throw new CommandError(
    'QueryExceededMemoryLimitNoDiskUseAllowed',
    `${where} :: caused by :: Sort exceeded memory limit of ${limit} bytes, but did not opt in to external sorting.`,
  );
}
