import { BSON, Long } from 'bson';
import { CommandError } from './errors.ts';
import type { Doc } from './types.ts';

/** MongoDB's default: a cursor unused for 10 minutes is closed. */
const IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/** Documents in a first batch when the client does not say (MongoDB's default). */
const DEFAULT_FIRST_BATCH = 101;
/** Keep replies under the 16 MiB document limit with room for the envelope. */
const MAX_BATCH_BYTES = 15 * 1024 * 1024;

interface OpenCursor {
  ns: string;
  docs: Doc[];
  position: number;
  lastUsed: number;
}

/** A `cursor` sub-document of a reply. */
export interface CursorReply {
  cursor: { id: Long; ns: string; firstBatch?: Doc[]; nextBatch?: Doc[] };
}

/**
 * Server-side cursors over already computed results (find and aggregate results are
 * snapshots), handed out in batches by getMore and closed when drained, killed or idle.
 */
export class CursorRegistry {
  private readonly cursors = new Map<number, OpenCursor>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /**
   * First batch of `docs` (`batchSize`, else MongoDB's default of 101); keeps a cursor open when more
   * remain, unless `singleBatch` (the rest is then dropped, as MongoDB closes such a cursor).
   */
  open(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch = false): CursorReply {
    const cursor: OpenCursor = { ns, docs, position: 0, lastUsed: this.now() };
    const firstBatch = this.take(cursor, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = 0;
    if (cursor.position < docs.length && !singleBatch) {
      id = this.newId();
      this.cursors.set(id, cursor);
    }
    return { cursor: { id: Long.fromNumber(id), ns, firstBatch } };
  }

  /** Next batch of cursor `id`; CursorNotFound (43) if unknown, drained, killed or for another namespace. */
  getMore(id: number, ns: string, batchSize: number | undefined): CursorReply {
    const cursor = this.cursors.get(id);
    if (!cursor || cursor.ns !== ns) throw new CommandError('CursorNotFound', `cursor id ${id} not found`);
    cursor.lastUsed = this.now();
    const nextBatch = this.take(cursor, batchSize ?? Number.POSITIVE_INFINITY);
    const exhausted = cursor.position >= cursor.docs.length;
    if (exhausted) this.cursors.delete(id);
    return { cursor: { id: Long.fromNumber(exhausted ? 0 : id), ns, nextBatch } };
  }

  /** Closes cursors; returns which ids were killed and which were unknown. */
  kill(ids: number[]): { killed: number[]; notFound: number[] } {
    const killed: number[] = [];
    const notFound: number[] = [];
    for (const id of ids) (this.cursors.delete(id) ? killed : notFound).push(id);
    return { killed, notFound };
  }

  get openCount(): number {
    return this.cursors.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.cursors.clear();
  }

  private take(cursor: OpenCursor, batchSize: number): Doc[] {
    const batch: Doc[] = [];
    let bytes = 0;
    while (batch.length < batchSize && cursor.position < cursor.docs.length) {
      const doc = cursor.docs[cursor.position] as Doc;
      bytes += BSON.calculateObjectSize(doc);
      if (bytes > MAX_BATCH_BYTES && batch.length > 0) break;
      batch.push(doc);
      cursor.position += 1;
    }
    return batch;
  }

  private newId(): number {
    // Ids stay below 2^53 so they survive the driver's int64 → number round trip unchanged.
    for (;;) {
      const id = Math.floor(Math.random() * Number.MAX_SAFE_INTEGER) + 1;
      if (!this.cursors.has(id)) return id;
    }
  }

  private sweep(): void {
    const cutoff = this.now() - IDLE_TIMEOUT_MS;
    for (const [id, cursor] of this.cursors) if (cursor.lastUsed < cutoff) this.cursors.delete(id);
  }
}
