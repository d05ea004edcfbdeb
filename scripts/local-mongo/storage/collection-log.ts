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

/** Where replayed records go. */
export interface ReplayTarget {
  put(doc: Doc): void;
  remove(id: unknown): void;
}

/**
 * Writes all of `data` at the file's end (the log is opened for appending), however many calls
 * that takes: a write may store fewer bytes than asked (a nearly full disk) and say so only
 * in its return value. Throws when the rest cannot be written.
 */
function writeFully(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    const written = fs.writeSync(fd, data, offset, data.length - offset);
    if (written <= 0) {
      throw Object.assign(new Error(`write stored ${written} bytes`), { code: 'EIO' });
    }
    offset += written;
  }
}

/**
 * A collection's append-only log, one record per line (see encodeRecord).
 *
 * Crash safety: every record is one line, written before the command is acknowledged, so a
 * crash can only leave a torn last line, which replay drops. A write that fails (a full disk)
 * or stores only part of a batch is cut off again: the file is truncated back to the records
 * written before it and `flush` throws, so the caller can undo the batch in memory. Nothing is
 * ever appended after a partial record: while it cannot be cut off, every flush fails. Compaction
 * writes a fresh file beside the log and renames it over, which is atomic on POSIX, so the
 * log is always either the old complete file or the new complete one.
 */
export class CollectionLog {
  private fd: number;
  private pending: string[] = [];
  private recordCount = 0;
  /** Bytes of whole records in the file: where a failed write is cut back to. */
  private written: number;
  /** A failed write's fragment could not be cut off yet: no record may follow it. */
  private damaged = false;
  private unsynced = false;

  private constructor(
    readonly path: string,
    fd: number,
    written: number,
  ) {
    this.fd = fd;
    this.written = written;
  }

  /** Opens (creating if needed) the log at `path` and replays it into `put`/`remove` callbacks. */
  static open(path: string, replay: ReplayTarget): CollectionLog {
    const text = fs.existsSync(path) ? fs.readFileSync(path, 'utf8') : '';
    const { records, tornAt } = CollectionLog.replay(path, text, replay);
    const fd = fs.openSync(path, 'a+');
    if (tornAt !== undefined) fs.ftruncateSync(fd, tornAt);
    const log = new CollectionLog(path, fd, fs.fstatSync(fd).size);
    log.recordCount = records;
    return log;
  }

  /**
   * Replays what is written (not what is pending), as a restart would: how a collection undoes
   * in memory the writes of a batch its log could not store.
   */
  replayWritten(replay: ReplayTarget): void {
    const text = fs.readFileSync(this.path).subarray(0, this.written).toString('utf8');
    CollectionLog.replay(this.path, text, replay);
  }

  /** Replays complete lines; `tornAt` is the length to truncate to when the file ends in a torn line. */
  private static replay(
    path: string,
    text: string,
    replay: ReplayTarget,
  ): { records: number; tornAt?: number } {
    let records = 0;
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

  /**
   * Writes the buffered records, all of them, before a write is acknowledged. When that fails the
   * file is cut back to its length before, the records are dropped and the error is thrown: the
   * caller must then undo them in memory (see replayWritten).
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const chunk = Buffer.from(this.pending.join(''), 'utf8');
    const records = this.pending.length;
    this.pending = [];
    if (this.damaged) this.cutBack();
    try {
      writeFully(this.fd, chunk);
    } catch (error) {
      try {
        this.cutBack();
      } catch (truncateError) {
        console.error(
          `local-mongo: could not cut a failed write off ${this.path}; retried on the next write`,
          truncateError,
        );
      }
      throw error;
    }
    this.written += chunk.length;
    this.recordCount += records;
    this.unsynced = true;
  }

  /** Truncates the file to its whole records (dropping a failed write's fragment). */
  private cutBack(): void {
    this.damaged = true;
    fs.ftruncateSync(this.fd, this.written);
    this.damaged = false;
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
    let bytes = 0;
    try {
      let lines: string[] = [];
      const writeLines = () => {
        const chunk = Buffer.from(lines.join(''), 'utf8');
        writeFully(tmpFd, chunk);
        bytes += chunk.length;
        lines = [];
      };
      for (const doc of docs) {
        lines.push(encodeRecord({ p: doc }));
        count += 1;
        if (lines.length >= 1000) writeLines();
      }
      if (lines.length > 0) writeLines();
      fs.fsyncSync(tmpFd);
    } catch (error) {
      fs.closeSync(tmpFd);
      fs.rmSync(tmpPath, { force: true });
      throw error;
    }
    fs.closeSync(tmpFd);
    fs.renameSync(tmpPath, this.path);
    const fd = fs.openSync(this.path, 'a');
    fs.closeSync(this.fd);
    this.fd = fd;
    this.written = bytes;
    this.damaged = false;
    this.recordCount = count;
    this.unsynced = false;
  }

  close(): void {
    try {
      this.flush();
      this.sync();
    } finally {
      fs.closeSync(this.fd);
    }
  }

  /** Closes and deletes the file (the collection was dropped). */
  destroy(): void {
    this.pending = [];
    fs.closeSync(this.fd);
    fs.rmSync(this.path, { force: true });
  }
}
