import fs from 'node:fs';
import { EJSON } from 'bson';
import { CommandError } from '../errors.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { CollectionLog, type ReplayTarget } from './collection-log.ts';
import { DuplicateKeyError } from './duplicate-key-error.ts';
import { canonicalKey } from './keys.ts';
import { UniqueIndex } from './unique-index.ts';

/** The `_id` index every collection has; listed first by listIndexes, as MongoDB does. */
const ID_INDEX: Doc = { v: 2, key: { _id: 1 }, name: '_id_' };

/** Log records beyond this many (and beyond twice the live documents) trigger a compaction. */
const COMPACT_MIN_RECORDS = 10_000;

/**
 * One collection: documents in memory in insertion order (MongoDB's natural order for a fresh
 * collection), unique indexes enforced on every write, everything persisted through its log.
 * Stored documents are never mutated in place, so open cursors keep a consistent snapshot.
 */
export class Collection {
  readonly ns: string;
  private readonly docs = new Map<string, Doc>();
  private readonly indexSpecs: Doc[] = [];
  private readonly uniqueIndexes: UniqueIndex[] = [];
  private readonly log: CollectionLog;

  private constructor(
    readonly database: string,
    readonly name: string,
    private readonly basePath: string,
  ) {
    this.ns = `${database}.${name}`;
    const indexesPath = `${basePath}.indexes.json`;
    if (fs.existsSync(indexesPath)) {
      const specs = EJSON.parse(fs.readFileSync(indexesPath, 'utf8')) as Doc[];
      for (const spec of specs) this.addIndexSpec(spec);
    }
    this.log = CollectionLog.open(`${basePath}.jsonl`, this.replayTarget());
  }

  /** Applies log records to the documents and unique indexes (on open, and to undo a failed write). */
  private replayTarget(): ReplayTarget {
    return {
      put: (doc) => {
        const key = canonicalKey(doc._id);
        const previous = this.docs.get(key);
        if (previous) this.unindex(previous, key);
        this.docs.set(key, doc);
        this.index(doc, key);
      },
      remove: (id) => {
        const key = canonicalKey(id);
        const previous = this.docs.get(key);
        if (previous) this.unindex(previous, key);
        this.docs.delete(key);
      },
    };
  }

  /** Opens or creates the collection stored at `basePath` (+ `.jsonl`, `.indexes.json`). */
  static open(database: string, name: string, basePath: string): Collection {
    return new Collection(database, name, basePath);
  }

  get size(): number {
    return this.docs.size;
  }

  /** A snapshot array of the documents in natural order. */
  documents(): Doc[] {
    return Array.from(this.docs.values());
  }

  /**
   * The documents a filter can match: just one when it pins `_id` to a value (the common
   * `{ _id: messageId }` lookup), else all. The caller still applies the whole filter.
   */
  candidates(filter: Doc): Doc[] {
    const id = filter._id;
    const pinned = id !== undefined && !(id instanceof RegExp) && !isPlainDoc(id) && !Array.isArray(id);
    if (!pinned) return this.documents();
    const doc = this.getById(id);
    return doc ? [doc] : [];
  }

  getById(id: unknown): Doc | undefined {
    return this.docs.get(canonicalKey(id));
  }

  /** Stores a new document; throws DuplicateKeyError (code 11000) on `_id` or unique-index collision. */
  insert(doc: Doc): void {
    checkIdValue(doc._id);
    const key = canonicalKey(doc._id);
    if (this.docs.has(key)) throw new DuplicateKeyError(this.ns, '_id_', { _id: 1 }, { _id: doc._id });
    for (const index of this.uniqueIndexes) index.check(doc, key);
    this.docs.set(key, doc);
    this.index(doc, key);
    this.log.appendPut(doc);
  }

  /** Replaces a stored document by a new version with the same `_id`. */
  replace(current: Doc, next: Doc): void {
    const key = canonicalKey(current._id);
    if (canonicalKey(next._id) !== key) {
      throw new CommandError(
        'ImmutableField',
        "Performing an update on the path '_id' would modify the immutable field '_id'",
      );
    }
    for (const index of this.uniqueIndexes) index.check(next, key);
    this.unindex(current, key);
    this.docs.set(key, next);
    this.index(next, key);
    this.log.appendPut(next);
  }

  remove(doc: Doc): void {
    const key = canonicalKey(doc._id);
    if (!this.docs.has(key)) return;
    this.unindex(doc, key);
    this.docs.delete(key);
    this.log.appendRemove(doc._id);
  }

  /** Index specs as listIndexes returns them, `_id_` first. */
  listIndexes(): Doc[] {
    return [ID_INDEX, ...this.indexSpecs];
  }

  /**
   * Adds an index; false when an identical one exists (MongoDB treats that as success).
   * A unique index over existing duplicates fails with 11000 and is not created.
   */
  createIndex(spec: Doc & { name: string; key: Doc }): boolean {
    const add = this.prepareIndex(spec);
    add?.();
    return add !== undefined;
  }

  /**
   * Checks an index before anything is created: throws what `createIndex` would, returns undefined
   * when an identical one exists, else the step that adds it. `createIndexes` checks every spec of a
   * command first, as MongoDB does: a conflict in one creates none of them.
   */
  prepareIndex(spec: Doc & { name: string; key: Doc }): (() => void) | undefined {
    const keyText = EJSON.stringify(spec.key);
    for (const existing of this.listIndexes()) {
      const sameName = existing.name === spec.name;
      const sameKey = EJSON.stringify(existing.key) === keyText;
      if (sameName && sameKey) {
        if (indexOptions(existing) === indexOptions(spec)) return undefined;
        // As MongoDB: a changed TTL, filter or uniqueness is not quietly kept as it was.
        throw new CommandError(
          'IndexOptionsConflict',
          `An equivalent index already exists with the same name but different options: ${spec.name}`,
        );
      }
      if (sameName) {
        throw new CommandError(
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index but different key or options: ${spec.name}`,
        );
      }
      if (sameKey) {
        throw new CommandError(
          'IndexOptionsConflict',
          `Index already exists with a different name: ${String(existing.name)}`,
        );
      }
    }
    if (spec.unique === true) {
      const candidate = new UniqueIndex(this.ns, spec);
      for (const [key, doc] of this.docs) {
        candidate.check(doc, key);
        candidate.add(doc, key);
      }
    }
    return () => {
      // On disk first: an index the file could not take must not be enforced until a restart forgets it.
      this.saveIndexSpecs([...this.indexSpecs, listedSpec(spec)]);
      this.addIndexSpec(spec);
    };
  }

  /** Drops a secondary index by name; throws IndexNotFound-like errors as MongoDB does. */
  dropIndex(name: string): void {
    if (name === '_id_') throw new CommandError('InvalidOptions', 'cannot drop _id index');
    const position = this.indexSpecs.findIndex((spec) => spec.name === name);
    if (position < 0) throw new CommandError('IndexNotFound', `index not found with name [${name}]`);
    // On disk first, as createIndex: a drop the file did not take would come back at a restart.
    this.saveIndexSpecs(this.indexSpecs.filter((_, index) => index !== position));
    this.indexSpecs.splice(position, 1);
    const uniquePosition = this.uniqueIndexes.findIndex((index) => index.name === name);
    if (uniquePosition >= 0) this.uniqueIndexes.splice(uniquePosition, 1);
  }

  /**
   * Persists buffered writes; compacts the log when it has grown well past the live data.
   *
   * When the log cannot store them all (a full disk), none of them stays: the documents and
   * indexes are rebuilt from what the log holds, so memory never has a write a restart would
   * not, and a CommandError (OutOfDiskSpace, else InternalError) is thrown for the reply. A
   * client retrying then writes again instead of meeting its own unsaved documents as duplicates.
   */
  flush(): void {
    try {
      this.log.flush();
    } catch (error) {
      this.reloadFromLog();
      throw refusedByDisk(
        error,
        `could not write to ${this.log.path}`,
        'the writes of this command were not applied',
      );
    }
    if (this.log.records > COMPACT_MIN_RECORDS && this.log.records > 2 * this.docs.size) {
      try {
        this.log.compact(this.docs.values());
      } catch (error) {
        // The writes are in the log already; compaction only saves space and is tried again later.
        console.error(`local-mongo: could not compact ${this.log.path}; the log is kept as it is`, error);
      }
    }
  }

  /** Drops every document and index entry, then replays what the log has written. */
  private reloadFromLog(): void {
    this.docs.clear();
    const specs = this.indexSpecs.splice(0);
    this.uniqueIndexes.splice(0);
    for (const spec of specs) this.addIndexSpec(spec);
    this.log.replayWritten(this.replayTarget());
  }

  get hasPendingWrites(): boolean {
    return this.log.hasPending;
  }

  sync(): void {
    this.log.sync();
  }

  close(): void {
    this.log.close();
  }

  /** Deletes the collection's files (drop). */
  destroy(): void {
    this.log.destroy();
    fs.rmSync(`${this.basePath}.indexes.json`, { force: true });
  }

  private addIndexSpec(spec: Doc & { name?: unknown; key?: unknown }): void {
    const listed = listedSpec(spec);
    this.indexSpecs.push(listed);
    if (listed.unique === true && typeof listed.name === 'string' && isPlainDoc(listed.key)) {
      const index = new UniqueIndex(this.ns, {
        name: listed.name,
        key: listed.key,
        sparse: listed.sparse === true,
        partialFilterExpression: isPlainDoc(listed.partialFilterExpression)
          ? listed.partialFilterExpression
          : undefined,
      });
      for (const [key, doc] of this.docs) index.add(doc, key);
      this.uniqueIndexes.push(index);
    }
  }

  /**
   * Writes `specs` as the collection's index list (a temporary file renamed over the old one). Throws
   * the CommandError a full disk gets (OutOfDiskSpace, else InternalError); the caller changes memory
   * only after this returned.
   */
  private saveIndexSpecs(specs: readonly Doc[]): void {
    const path = `${this.basePath}.indexes.json`;
    try {
      fs.writeFileSync(`${path}.tmp`, EJSON.stringify(specs, { relaxed: false }));
      fs.renameSync(`${path}.tmp`, path);
    } catch (error) {
      fs.rmSync(`${path}.tmp`, { force: true });
      throw refusedByDisk(error, `could not write ${path}`, 'the indexes were not changed');
    }
  }

  private index(doc: Doc, key: string): void {
    for (const index of this.uniqueIndexes) index.add(doc, key);
  }

  private unindex(doc: Doc, key: string): void {
    for (const index of this.uniqueIndexes) index.remove(doc, key);
  }
}

/**
 * Refuses an `_id` MongoDB will not store (its `fixDocumentForInsert`), each with its code and words:
 * an array or a regular expression (2 BadValue), a document with a `$`-prefixed field (52
 * DollarPrefixedFieldName; a DBRef arrives here as a DBRef, not a document). Only the `_id` document's
 * own fields are checked: MongoDB 8.0 allows `$`-prefixed fields deeper down.
 */
function checkIdValue(id: unknown): void {
  if (Array.isArray(id)) throw new CommandError('BadValue', "can't use an array for _id");
  if (id instanceof RegExp || (id as { _bsontype?: unknown } | null)?._bsontype === 'BSONRegExp') {
    throw new CommandError('BadValue', "can't use a regex for _id");
  }
  const dollarField = isPlainDoc(id) ? Object.keys(id).find((name) => name.startsWith('$')) : undefined;
  if (dollarField !== undefined) {
    throw new CommandError(
      'DollarPrefixedFieldName',
      `_id fields may not contain '$'-prefixed fields: ${dollarField} is not valid for storage.`,
    );
  }
}

/** The reply to a command whose change the disk refused: OutOfDiskSpace when it is full, else InternalError. */
function refusedByDisk(error: unknown, what: string, outcome: string): CommandError {
  const code = (error as NodeJS.ErrnoException).code;
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const reason = error instanceof Error ? error.message : String(error);
  return new CommandError(
    full ? 'OutOfDiskSpace' : 'InternalError',
    `local-mongo: ${what} (${reason}); ${outcome}`,
    {
      cause: error,
    },
  );
}

/** An index as `listIndexes` shows it and `.indexes.json` keeps it: version 2, without `ns`. */
function listedSpec(spec: Doc): Doc {
  const { ns: _ignoredNamespace, ...stored } = spec;
  return { v: 2, ...stored };
}

/** An index's options as comparable text: all but its name and key and what the server adds or ignores. */
function indexOptions(spec: Doc): string {
  const options: Doc = {};
  for (const name of Object.keys(spec).sort()) {
    if (['name', 'key', 'v', 'ns', 'background'].includes(name)) continue;
    // `unique: false` is what no `unique` means.
    if ((name === 'unique' || name === 'sparse') && spec[name] === false) continue;
    options[name] = spec[name];
  }
  return EJSON.stringify(options);
}
