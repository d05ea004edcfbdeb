import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ObjectId } from 'bson';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StorageEngine } from '../../scripts/local-mongo/storage/engine.ts';

/** The local MongoDB server's storage layer on its own: crash leftovers, compaction, corruption. */
const dirs: string[] = [];
function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-mongo-storage-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const realWriteSync = fs.writeSync;

/** Whether a write carries log records (lines starting `B`), not anything else the process writes. */
function isLogWrite(data: unknown): boolean {
  if (typeof data === 'string') return data.startsWith('B');
  return Buffer.isBuffer(data) && data[0] === 0x42;
}

/**
 * Makes the next log writes fail as a full or nearly full disk does: `enospc` throws without
 * writing, `short` stores the first half of what was asked and returns that count (no error),
 * `ok` lets one through.
 */
function failLogWrites(plan: Array<'enospc' | 'short' | 'ok'>): void {
  const steps = [...plan];
  const fake = (fd: number, data: unknown, ...rest: unknown[]): number => {
    const step = isLogWrite(data) ? steps.shift() : undefined;
    // biome-ignore lint/suspicious/noExplicitAny: passes the caller's overload through unchanged
    if (step === undefined || step === 'ok') return (realWriteSync as any)(fd, data, ...rest);
    if (step === 'enospc') {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        errno: -28,
        syscall: 'write',
      });
    }
    let bytes: Buffer;
    if (typeof data === 'string') bytes = Buffer.from(data, 'utf8');
    else {
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : (data as Buffer).length - offset;
      bytes = (data as Buffer).subarray(offset, offset + length);
    }
    return realWriteSync(fd, bytes, 0, Math.floor(bytes.length / 2));
  };
  vi.spyOn(fs, 'writeSync').mockImplementation(fake as typeof fs.writeSync);
}

function idsIn(dataDir: string, collection: string): unknown[] {
  const engine = StorageEngine.open(dataDir);
  try {
    return (
      engine
        .getCollection('rx', collection)
        ?.documents()
        .map((doc) => doc._id) ?? []
    );
  } finally {
    engine.close();
  }
}

describe('local-mongo storage', () => {
  it('drops a torn last record left by a crash and keeps appending after it', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    const events = engine.ensureCollection('rx', 'events');
    events.insert({ _id: 'e1', at: new Date(1) });
    events.insert({ _id: 'e2', ref: new ObjectId('65a0b0c0d0e0f00112233445') });
    engine.flush();
    engine.close();

    const logPath = path.join(dataDir, 'rx', 'events.jsonl');
    fs.appendFileSync(logPath, '{"p":{"_id":"e3","half');
    const reopened = StorageEngine.open(dataDir);
    const collection = reopened.getCollection('rx', 'events');
    expect(collection?.documents()).toEqual([
      { _id: 'e1', at: new Date(1) },
      { _id: 'e2', ref: new ObjectId('65a0b0c0d0e0f00112233445') },
    ]);
    collection?.insert({ _id: 'e4' });
    reopened.flush();
    reopened.close();

    const third = StorageEngine.open(dataDir);
    expect(
      third
        .getCollection('rx', 'events')
        ?.documents()
        .map((doc) => doc._id),
    ).toEqual(['e1', 'e2', 'e4']);
    third.close();
  });

  it('keeps documents with $-keys MongoDB accepts ($oid, $date, $regex) exactly, and still reads the old format', () => {
    const dataDir = freshDir();
    fs.mkdirSync(path.join(dataDir, 'rx'));
    // A log written by the EJSON format of earlier versions.
    fs.writeFileSync(
      path.join(dataDir, 'rx', 'events.jsonl'),
      '{"p":{"_id":"old","at":{"$date":"1970-01-01T00:00:00.001Z"}}}\n',
    );
    const engine = StorageEngine.open(dataDir);
    const events = engine.getCollection('rx', 'events');
    const odd = {
      _id: 'odd',
      properties: { $oid: 'abc', $date: 'not a date', $numberInt: '5', $regex: '^a' },
    };
    events?.insert(odd);
    engine.flush();
    engine.close();
    const reopened = StorageEngine.open(dataDir);
    expect(reopened.getCollection('rx', 'events')?.documents()).toEqual([
      { _id: 'old', at: new Date(1) },
      odd,
    ]);
    reopened.close();
  });

  it('refuses to start on a corrupt record in the middle of a log, naming the file and line', () => {
    const dataDir = freshDir();
    fs.mkdirSync(path.join(dataDir, 'rx'));
    fs.writeFileSync(
      path.join(dataDir, 'rx', 'events.jsonl'),
      '{"p":{"_id":"a"}}\nnot json\n{"p":{"_id":"b"}}\n',
    );
    expect(() => StorageEngine.open(dataDir)).toThrow(/corrupt record at .*events\.jsonl:2/);
    // The failed start released the data folder: once the file is repaired, it opens.
    fs.writeFileSync(path.join(dataDir, 'rx', 'events.jsonl'), '{"p":{"_id":"a"}}\n');
    const repaired = StorageEngine.open(dataDir);
    expect(repaired.getCollection('rx', 'events')?.size).toBe(1);
    repaired.close();
  });

  it('undoes in memory a write the full disk refused, so the retry stores it, once', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    const events = engine.ensureCollection('rx', 'events');
    events.createIndex({ name: 'order_1', key: { order: 1 }, unique: true });
    events.insert({ _id: 'e0', order: 'o0' });
    engine.flush();

    failLogWrites(['enospc']);
    events.insert({ _id: 'e1', order: 'o1' });
    events.insert({ _id: 'e2', order: 'o2' });
    expect(() => engine.flush()).toThrow(
      expect.objectContaining({ code: 14031, codeName: 'OutOfDiskSpace' }),
    );
    // Nothing of the refused batch stays: not the documents, not their unique-index entries.
    expect(events.documents()).toEqual([{ _id: 'e0', order: 'o0' }]);
    expect(engine.getCollection('rx', 'events')?.hasPendingWrites).toBe(false);

    // The client retries the batch: stored, not answered as duplicates of unsaved documents.
    events.insert({ _id: 'e1', order: 'o1' });
    events.insert({ _id: 'e2', order: 'o2' });
    engine.flush();
    engine.close();
    expect(idsIn(dataDir, 'events')).toEqual(['e0', 'e1', 'e2']);
  });

  it('changes no index in memory that the full disk kept out of .indexes.json (a restart would forget it)', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    const events = engine.ensureCollection('rx', 'events');
    events.createIndex({ name: 'order_1', key: { order: 1 }, unique: true });
    const names = () => events.listIndexes().map((index) => index.name);
    const full = () =>
      vi.spyOn(fs, 'writeFileSync').mockImplementationOnce(() => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      });

    full();
    expect(() => events.createIndex({ name: 'ref_1', key: { ref: 1 }, unique: true })).toThrow(
      expect.objectContaining({ codeName: 'OutOfDiskSpace' }),
    );
    // Not created: not listed, not enforced.
    expect(names()).toEqual(['_id_', 'order_1']);
    events.insert({ _id: 'a', order: 'o1', ref: 'r' });
    events.insert({ _id: 'b', order: 'o2', ref: 'r' });

    full();
    expect(() => events.dropIndex('order_1')).toThrow(
      expect.objectContaining({ codeName: 'OutOfDiskSpace' }),
    );
    // Not dropped: still enforced, as after a restart.
    expect(() => events.insert({ _id: 'c', order: 'o', ref: 'r' })).not.toThrow();
    expect(() => events.insert({ _id: 'd', order: 'o' })).toThrow(/duplicate key/);
    engine.flush();
    engine.close();
    const reopened = StorageEngine.open(dataDir);
    expect(
      reopened
        .getCollection('rx', 'events')
        ?.listIndexes()
        .map((index) => index.name),
    ).toEqual(['_id_', 'order_1']);
    reopened.close();
  });

  it('completes a short write, and cuts off a write the disk stopped halfway: no record follows a fragment', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    const events = engine.ensureCollection('rx', 'events');

    // Nearly full: the write stores half and says so only in its count; the rest is written after.
    failLogWrites(['short']);
    events.insert({ _id: 'a' });
    engine.flush();
    events.insert({ _id: 'b' });
    engine.flush();

    // Full after half a batch: the fragment is truncated away and the batch refused.
    failLogWrites(['short', 'enospc']);
    events.insert({ _id: 'lost1' });
    events.insert({ _id: 'lost2' });
    expect(() => engine.flush()).toThrow(/no space left on device/);
    vi.restoreAllMocks();
    events.insert({ _id: 'c' });
    engine.flush();
    engine.close();

    // Every later start reads the log; it holds exactly the acknowledged documents.
    expect(idsIn(dataDir, 'events')).toEqual(['a', 'b', 'c']);
    const text = fs.readFileSync(path.join(dataDir, 'rx', 'events.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n')).toHaveLength(3);
  });

  it('completes a short write while compacting, and keeps the old log when compaction finds the disk full', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    const counters = engine.ensureCollection('rx', 'counters');
    const bump = (times: number) => {
      for (let step = 0; step < times; step += 1) {
        const current = counters.getById('c');
        counters.replace(current ?? { _id: 'c' }, { _id: 'c', n: Number(current?.n ?? 0) + 1 });
      }
    };
    counters.insert({ _id: 'c', n: 0 });
    bump(10_000);

    // The batch is written; the compaction after it finds the disk full. The batch stays acknowledged.
    failLogWrites(['ok', 'enospc']);
    expect(() => engine.flush()).not.toThrow();
    expect(fs.existsSync(path.join(dataDir, 'rx', 'counters.jsonl.compact'))).toBe(false);

    // The next compaction's write stores only half at first.
    failLogWrites(['ok', 'short']);
    bump(1);
    engine.flush();
    const lines = fs
      .readFileSync(path.join(dataDir, 'rx', 'counters.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(1);
    engine.close();

    const reopened = StorageEngine.open(dataDir);
    expect(reopened.getCollection('rx', 'counters')?.documents()).toEqual([{ _id: 'c', n: 10_001 }]);
    reopened.close();
  });

  it('refuses a data folder another live server holds, and takes over one left by a dead process', () => {
    const dataDir = freshDir();
    const first = StorageEngine.open(dataDir);
    expect(() => StorageEngine.open(dataDir)).toThrow(new RegExp(`in use by process ${process.pid}`));
    first.close();
    // A pid far above any real one stands for a server that crashed without removing its lock.
    fs.writeFileSync(path.join(dataDir, 'local-mongo.lock'), '999999999');
    const second = StorageEngine.open(dataDir);
    second.close();
    expect(fs.existsSync(path.join(dataDir, 'local-mongo.lock'))).toBe(false);
  });

  it("takes over a lock naming this process's own pid that it does not hold (a pid reused after a restart)", () => {
    const dataDir = freshDir();
    const lockPath = path.join(dataDir, 'local-mongo.lock');
    // A crashed server's lock, and this process was given the same pid (container restart).
    fs.writeFileSync(lockPath, String(process.pid));
    const engine = StorageEngine.open(dataDir);
    // Two engines on one folder in one process are still refused.
    expect(() => StorageEngine.open(dataDir)).toThrow(new RegExp(`in use by process ${process.pid}`));
    engine.close();
    expect(fs.existsSync(lockPath)).toBe(false);
    // The same with a start time that is not this process's.
    fs.writeFileSync(lockPath, `${process.pid} 1`);
    StorageEngine.open(dataDir).close();
  });

  it.skipIf(!fs.existsSync('/proc/self/stat'))(
    "records the holder's start time, so another live process that was given a dead server's pid does not hold its lock",
    () => {
      const dataDir = freshDir();
      const lockPath = path.join(dataDir, 'local-mongo.lock');
      const engine = StorageEngine.open(dataDir);
      expect(fs.readFileSync(lockPath, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+$`));
      engine.close();

      // The parent process runs; it did not start at tick 1, so it is not the server that wrote this.
      const other = process.ppid;
      fs.writeFileSync(lockPath, `${other} 1`);
      StorageEngine.open(dataDir).close();

      // Written by that very process (its start time), or in the older pid-only form: held.
      const stat = fs.readFileSync(`/proc/${other}/stat`, 'utf8');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      fs.writeFileSync(lockPath, `${other} ${start}`);
      expect(() => StorageEngine.open(dataDir)).toThrow(new RegExp(`in use by process ${other}`));
      fs.writeFileSync(lockPath, String(other));
      expect(() => StorageEngine.open(dataDir)).toThrow(new RegExp(`in use by process ${other}`));
    },
  );

  it('compacts a log that grew far beyond its live documents, without losing the latest versions', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    const counters = engine.ensureCollection('rx', 'counters');
    counters.insert({ _id: 'c', n: 0 });
    counters.insert({ _id: 'gone' });
    for (let n = 1; n <= 10_500; n += 1) {
      const current = counters.getById('c');
      if (!current) throw new Error('counter vanished');
      counters.replace(current, { _id: 'c', n });
      if (n % 100 === 0) engine.flush();
    }
    const gone = counters.getById('gone');
    if (gone) counters.remove(gone);
    engine.flush();
    const lines = fs
      .readFileSync(path.join(dataDir, 'rx', 'counters.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBeLessThan(1000);
    engine.close();

    const reopened = StorageEngine.open(dataDir);
    expect(reopened.getCollection('rx', 'counters')?.documents()).toEqual([{ _id: 'c', n: 10_500 }]);
    reopened.close();
  });

  it('removes leftovers of an interrupted compaction and keeps the original log', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    engine.ensureCollection('rx', 'events').insert({ _id: 'kept' });
    engine.flush();
    engine.close();
    const leftover = path.join(dataDir, 'rx', 'events.jsonl.compact');
    fs.writeFileSync(leftover, '{"p":{"_id":"half-written');
    const reopened = StorageEngine.open(dataDir);
    expect(reopened.getCollection('rx', 'events')?.documents()).toEqual([{ _id: 'kept' }]);
    expect(fs.existsSync(leftover)).toBe(false);
    reopened.close();
  });

  it('stores names that are awkward on disk and rejects ones MongoDB rejects', () => {
    const dataDir = freshDir();
    const engine = StorageEngine.open(dataDir);
    engine.ensureCollection('rx', 'weird/name*x').insert({ _id: 1 });
    engine.flush();
    engine.close();
    const reopened = StorageEngine.open(dataDir);
    expect(reopened.collections('rx').map((collection) => collection.name)).toEqual(['weird/name*x']);
    expect(() => reopened.ensureCollection('../escape', 'c')).toThrow(/Invalid database name/);
    expect(() => reopened.ensureCollection('rx', 'bad$name')).toThrow(/Invalid collection name/);
    reopened.close();
  });
});
