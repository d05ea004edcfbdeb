import fs from 'node:fs';
import { BSON, EJSON } from 'bson';
import type { Doc } from '../types.ts';

/** One line of a collection's log: a document written (`p`, put) or removed by `_id` (`d`). */
type LogRecord = { p: Doc } | { d: unknown };

/**
 * A record as one line: `B` and the base64 of its BSON. BSON, because a stored document is BSON and
 * comes back exactly: EJSON (the format before) gives meaning to keys such as `$oid`, `$date` or
 * `$regex`, which MongoDB accepts inside documents, so such a document came back changed or made the
 * log unreadable. Lines of the older EJSON format (they start with `{`) are still read.
 */
function encodeRecord(record: LogRecord): string {
  return `B${Buffer.from(BSON.serialize(record, { ignoreUndefined: true })).toString('base64')}\n`;
}

function decodeRecord(line: string): LogRecord {
  if (line.startsWith('B')) return BSON.deserialize(Buffer.from(line.slice(1), 'base64')) as LogRecord;
  return EJSON.parse(line) as LogRecord;
}

/**
 * A collection's append-only log, one record per line (see encodeRecord).
 *
 * Crash safety: every record is one line written by a single `write` before the command is
 * acknowledged, so a crash can only leave a torn last line, which replay drops. Compaction
 * writes a fresh file beside the log and renames it over, which is atomic on POSIX, so the
 * log is always either the old complete file or the new complete one.
 */
export class CollectionLog {
  private fd: number;
  private pending: string[] = [];
  private recordCount = 0;
  private unsynced = false;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens (creating if needed) the log at `path` and replays it into `put`/`remove` callbacks. */
  static open(path: string, replay: { put(doc: Doc): void; remove(id: unknown): void }): CollectionLog {
    const { records, tornAt } = CollectionLog.replay(path, replay);
    const fd = fs.openSync(path, 'a+');
    if (tornAt !== undefined) fs.ftruncateSync(fd, tornAt);
    const log = new CollectionLog(path, fd);
    log.recordCount = records;
    return log;
  }

  /** Replays complete lines; `tornAt` is the length to truncate to when the file ends in a torn line. */
  private static replay(
    path: string,
    replay: { put(doc: Doc): void; remove(id: unknown): void },
  ): { records: number; tornAt?: number } {
    let records = 0;
    if (!fs.existsSync(path)) return { records };
    const text = fs.readFileSync(path, 'utf8');
    const lastNewline = text.lastIndexOf('\n');
    const complete = text.slice(0, lastNewline + 1);
    let lineNumber = 0;
    for (const line of complete.split('\n')) {
      lineNumber += 1;
      if (line === '') continue;
      let record: LogRecord;
      try {
        record = decodeRecord(line);
      } catch (error) {
        // A complete line can only be bad if the file was edited or the disk failed: refuse to
        // guess, since skipping it could silently resurrect or lose documents.
        throw new Error(`local-mongo: corrupt record at ${path}:${lineNumber}; move the file away to start`, {
          cause: error,
        });
      }
      if ('p' in record) replay.put(record.p);
      else replay.remove(record.d);
      records += 1;
    }
    if (lastNewline + 1 < text.length) {
      console.warn(`local-mongo: dropped a torn last record in ${path} (an interrupted write)`);
      return { records, tornAt: Buffer.byteLength(complete, 'utf8') };
    }
    return { records };
  }

  /** Number of records in the file (for deciding when compaction pays). */
  get records(): number {
    return this.recordCount + this.pending.length;
  }

  appendPut(doc: Doc): void {
    this.pending.push(encodeRecord({ p: doc }));
  }

  appendRemove(id: unknown): void {
    this.pending.push(encodeRecord({ d: id }));
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Writes buffered records in one system call; done before a write is acknowledged. */
  flush(): void {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join('');
    this.recordCount += this.pending.length;
    this.pending = [];
    fs.writeSync(this.fd, chunk);
    this.unsynced = true;
  }

  /** Forces written records to disk (called periodically and on close). */
  sync(): void {
    if (!this.unsynced) return;
    fs.fdatasyncSync(this.fd);
    this.unsynced = false;
  }

  /** Rewrites the log as one `put` per live document, atomically replacing the old file. */
  compact(docs: Iterable<Doc>): void {
    this.flush();
    const tmpPath = `${this.path}.compact`;
    const tmpFd = fs.openSync(tmpPath, 'w');
    let count = 0;
    try {
      let lines: string[] = [];
      for (const doc of docs) {
        lines.push(encodeRecord({ p: doc }));
        count += 1;
        if (lines.length >= 1000) {
          fs.writeSync(tmpFd, lines.join(''));
          lines = [];
        }
      }
      if (lines.length > 0) fs.writeSync(tmpFd, lines.join(''));
      fs.fsyncSync(tmpFd);
    } finally {
      fs.closeSync(tmpFd);
    }
    fs.renameSync(tmpPath, this.path);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.path, 'a');
    this.recordCount = count;
    this.unsynced = false;
  }

  close(): void {
    this.flush();
    this.sync();
    fs.closeSync(this.fd);
  }

  /** Closes and deletes the file (the collection was dropped). */
  destroy(): void {
    this.pending = [];
    fs.closeSync(this.fd);
    fs.rmSync(this.path, { force: true });
  }
}
