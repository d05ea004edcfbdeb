import fs from 'node:fs';
import path from 'node:path';
import { CommandError } from '../errors.ts';
import { Collection } from './collection.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { fromFileName, toFileName, validateCollectionName, validateDatabaseName } from './names.ts';

/** How often written-but-unsynced log data is forced to disk. */
const SYNC_INTERVAL_MS = 1000;

/**
 * All databases and collections under one data folder: `<dataDir>/<db>/<collection>.jsonl`
 * (+ `.indexes.json`). Loaded fully into memory on open; every write is appended to its
 * collection's log before the command that made it is answered.
 */
export class StorageEngine {
  private readonly databases = new Map<string, Map<string, Collection>>();
  private readonly syncTimer: NodeJS.Timeout;

  private constructor(
    readonly dataDir: string,
    private readonly unlock: () => void,
  ) {
    this.syncTimer = setInterval(() => this.syncAll(), SYNC_INTERVAL_MS);
    this.syncTimer.unref();
  }

  /** Opens the data folder (creating and locking it), replaying every collection's log. */
  static open(dataDir: string): StorageEngine {
    fs.mkdirSync(dataDir, { recursive: true });
    const engine = new StorageEngine(dataDir, lockDataDir(dataDir));
    try {
      engine.load();
    } catch (error) {
      engine.close(); // releases the lock and the files opened so far
      throw error;
    }
    return engine;
  }

  private load(): void {
    const dataDir = this.dataDir;
    for (const dbEntry of fs.readdirSync(dataDir, { withFileTypes: true })) {
      if (!dbEntry.isDirectory()) continue;
      const dbName = fromFileName(dbEntry.name);
      const dbDir = path.join(dataDir, dbEntry.name);
      const collections = new Map<string, Collection>();
      for (const file of fs.readdirSync(dbDir)) {
        // Leftovers of a compaction or index save interrupted by a crash; the originals are intact.
        if (file.endsWith('.compact') || file.endsWith('.tmp')) {
          fs.rmSync(path.join(dbDir, file), { force: true });
          continue;
        }
        if (!file.endsWith('.jsonl')) continue;
        const base = file.slice(0, -'.jsonl'.length);
        const name = fromFileName(base);
        collections.set(name, Collection.open(dbName, name, path.join(dbDir, base)));
      }
      this.databases.set(dbName, collections);
    }
  }

  getCollection(database: string, name: string): Collection | undefined {
    return this.databases.get(database)?.get(name);
  }

  /** The collection, created (as MongoDB does on first write) when missing. */
  ensureCollection(database: string, name: string): Collection {
    return this.getCollection(database, name) ?? this.createCollection(database, name);
  }

  /** Creates an empty collection; NamespaceExists (48) when it is already there. */
  createCollection(database: string, name: string): Collection {
    validateDatabaseName(database);
    validateCollectionName(name);
    if (this.getCollection(database, name)) {
      throw new CommandError('NamespaceExists', `Collection ${database}.${name} already exists.`);
    }
    let collections = this.databases.get(database);
    if (!collections) {
      collections = new Map();
      this.databases.set(database, collections);
    }
    const dbDir = path.join(this.dataDir, toFileName(database));
    fs.mkdirSync(dbDir, { recursive: true });
    const collection = Collection.open(database, name, path.join(dbDir, toFileName(name)));
    collections.set(name, collection);
    return collection;
  }

  /** Drops a collection and its files; false when it did not exist. */
  dropCollection(database: string, name: string): boolean {
    const collection = this.getCollection(database, name);
    if (!collection) return false;
    collection.destroy();
    this.databases.get(database)?.delete(name);
    return true;
  }

  dropDatabase(database: string): void {
    const collections = this.databases.get(database);
    if (!collections) return;
    for (const collection of collections.values()) collection.destroy();
    this.databases.delete(database);
    fs.rmSync(path.join(this.dataDir, toFileName(database)), { recursive: true, force: true });
  }

  /** Names of databases holding at least one collection. */
  databaseNames(): string[] {
    return [...this.databases].filter(([, collections]) => collections.size > 0).map(([name]) => name);
  }

  /** Bytes of the database's files on disk. */
  databaseSize(database: string): number {
    const dbDir = path.join(this.dataDir, toFileName(database));
    if (!fs.existsSync(dbDir)) return 0;
    return fs.readdirSync(dbDir).reduce((sum, file) => sum + fs.statSync(path.join(dbDir, file)).size, 0);
  }

  collections(database: string): Collection[] {
    return [...(this.databases.get(database)?.values() ?? [])];
  }

  /**
   * Writes every buffered record to its log (called after each command, before replying). A
   * collection whose log cannot take them undoes them (see Collection.flush); the others are still
   * written, and the first error is thrown after.
   */
  flush(): void {
    let failure: unknown;
    for (const collections of this.databases.values()) {
      for (const collection of collections.values()) {
        if (!collection.hasPendingWrites) continue;
        try {
          collection.flush();
        } catch (error) {
          failure ??= error;
        }
      }
    }
    if (failure !== undefined) throw failure;
  }

  close(): void {
    clearInterval(this.syncTimer);
    for (const collections of this.databases.values()) {
      for (const collection of collections.values()) collection.close();
    }
    this.databases.clear();
    this.unlock();
  }

  private syncAll(): void {
    try {
      for (const collections of this.databases.values()) {
        for (const collection of collections.values()) collection.sync();
      }
    } catch (error) {
      console.error('local-mongo: periodic fsync failed', error);
    }
  }
}
