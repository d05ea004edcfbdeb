import { DurableObject } from 'cloudflare:workers';
import type { StoredEvent } from '../../../../contracts/events';
import { retryDelaySeconds } from '../../consumer/backoff';
import { describeError } from '../../describe-error';
import type { Env } from '../../env';
import { log } from '../../log';
import { withDeadline } from '../../with-deadline';
import { sendStoredEvents } from '../producer';

/**
 * Most events held at once. An event is ~0.5-1 KB, so a full outbox is ~100 MB of the object's
 * SQLite storage (10 GB allowed). Past it, refused events rely on their senders' retries again.
 */
export const MAX_HELD_EVENTS = 100_000;
/** Events sent on per alarm (a few `sendBatch` calls); a longer backlog continues at once. */
export const DELIVERY_BATCH = 500;
/**
 * Most bytes of held events one alarm reads (it stops at the first event that reaches this): 500
 * events near the intake's size limit would be tens of MB of JSON, text and parsed objects both in
 * memory at once, in an isolate of 128 MB. Ordinary events (~1 KB) still go 500 at a time.
 */
export const DELIVERY_BYTES = 4 * 1024 * 1024;

/** A queue send that hangs must not hold the backlog: past this the delivery counts as failed. */
const DELIVERY_DEADLINE_MS = 30_000;

/** What `hold` did with the events it was given. */
export interface HoldResult {
  /** Newly held. */
  held: number;
  /** Already held under the same `messageId` (a repeated hand-over; kept once). */
  alreadyHeld: number;
  /**
   * Not held because the outbox had no room for all the new events of the hand-over (then none is
   * held, `held` is 0): they rely on their sender's retry, and the caller says so.
   */
  refused: number;
  /** Events waiting after this call. */
  waiting: number;
}

/** The outbox's state, for `/healthz`. */
export interface OutboxStatus {
  waiting: number;
  /** When the oldest waiting event was held (ISO), if any. */
  oldestHeldAt: string | null;
  /** Deliveries that failed in a row since the last one that went through. */
  failedAttempts: number;
  /** When the next delivery runs (ISO), if one is scheduled. */
  nextAttemptAt: string | null;
  lastError: string | null;
  /**
   * The most shards hand-overs were spread over (noteShards), as shard 0 knows it; 1 when none was
   * noted. Other shards answer 1. `/healthz` asks that many shards, not only OUTBOX_SHARDS's.
   */
  shardsUsed: number;
  /** When shardsUsed was last noted (epoch ms), or null: compared by forgetShards. */
  shardsNotedAt: number | null;
}

/**
 * A durable outbox for events the edge accepted and the queue refused: the intake's (plugin, Segment
 * sources), which would otherwise depend on a sender that may never retry (a shopper who left, a
 * library that gives up), and the proxy's page views, which have no sender at all
 * (docs/analytics.md "When the queue refuses events").
 *
 * Events are kept in the object's SQLite storage, keyed by `messageId` (a repeated hand-over is kept
 * once), and an alarm sends them on to the `EVENTS` queue in order, with the consumer's back-off
 * (2 s doubling to 300 s) while the queue still refuses. A delivery that failed half-way is sent
 * again whole: the consumer stores each `messageId` once.
 */
export class EventOutbox extends DurableObject<Env> {
  /** Sends held events on. The queue; tests replace it with one that refuses. */
  deliver: (events: StoredEvent[]) => Promise<void> = (events) => sendStoredEvents(this.env.EVENTS, events);

  private readonly sql: SqlStorage;
  /**
   * Events held, counted once per instance and kept in step with every insert and delete (one
   * instance serves all calls, so memory and storage agree): a COUNT(*) per hand-over would scan up
   * to MAX_HELD_EVENTS rows on every page view of an outage.
   */
  private heldCount: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // AUTOINCREMENT: a sequence number is never reused, so events held while a delivery is under
    // way sort after the ones it sends, and deleting "up to the last one sent" never drops them.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS held_events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      message_id TEXT NOT NULL UNIQUE,
      held_at INTEGER NOT NULL,
      body TEXT NOT NULL
    )`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS delivery (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      failed_attempts INTEGER NOT NULL,
      last_error TEXT
    )`);
    // Shard 0's only: the most shards hand-overs went to (see noteShards).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS shards_used (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      highest INTEGER NOT NULL,
      noted_at INTEGER NOT NULL
    )`);
  }

  /**
   * Called on shard 0 by a worker that handed events to another shard with `count` shards
   * (OUTBOX_SHARDS): kept as the highest count used, with the time it was last noted at that count.
   * Lowering OUTBOX_SHARDS leaves events in the shards above the new count (each still delivers on
   * its own alarm); `/healthz` asks this many shards, so those events stay visible.
   */
  async noteShards(count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 2) return;
    this.sql.exec(
      `INSERT INTO shards_used (id, highest, noted_at) VALUES (1, ?, ?)
       ON CONFLICT (id) DO UPDATE SET
         noted_at = CASE WHEN excluded.highest >= highest THEN excluded.noted_at ELSE noted_at END,
         highest = MAX(highest, excluded.highest)`,
      count,
      Date.now(),
    );
  }

  /**
   * Lowers the shards `/healthz` asks to `count`, once the shards above it hold nothing: only if the
   * record is still the one read (`notedAt`), so a hand-over noted since is never forgotten.
   */
  async forgetShards(count: number, notedAt: number): Promise<void> {
    if (count < 2) this.sql.exec('DELETE FROM shards_used WHERE id = 1 AND noted_at = ?', notedAt);
    else
      this.sql.exec(
        'UPDATE shards_used SET highest = ? WHERE id = 1 AND noted_at = ? AND highest > ?',
        count,
        notedAt,
        count,
      );
  }

  /**
   * Keeps `events` until the queue takes them, and makes sure a delivery is scheduled. All or nothing:
   * when the outbox has no room for every new one (MAX_HELD_EVENTS), none is held, so the caller's
   * "not held, send them again" is true of each (a part held would be delivered, and its events sent
   * without a messageId stored twice, once more under the fresh id the retry gets).
   */
  async hold(events: StoredEvent[]): Promise<HoldResult> {
    const now = Date.now();
    const before = this.waiting();
    let held = 0;
    let alreadyHeld = 0;
    let full = false;
    try {
      // One transaction: rolled back whole when the new events do not all fit.
      this.ctx.storage.transactionSync(() => {
        for (const event of events) {
          // RETURNING answers a row only when one was inserted (rowsWritten also counts a conflict's probe).
          const inserted = this.sql
            .exec(
              `INSERT INTO held_events (message_id, held_at, body) VALUES (?, ?, ?)
               ON CONFLICT (message_id) DO NOTHING RETURNING seq`,
              event.messageId,
              now,
              JSON.stringify(event),
            )
            .toArray();
          if (inserted.length > 0) held += 1;
          else alreadyHeld += 1;
        }
        if (before + held > MAX_HELD_EVENTS) {
          full = true;
          throw new Error('The outbox is full');
        }
      });
    } catch (error) {
      if (!full) throw error;
      log('error', 'outbox_full', { refused: held, waiting: before });
      return { held: 0, alreadyHeld, refused: held, waiting: before };
    }
    const waiting = before + held;
    this.heldCount = waiting;
    if (waiting > 0 && (await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(now + retryDelaySeconds(this.failedAttempts() + 1) * 1000);
    }
    return { held, alreadyHeld, refused: 0, waiting };
  }

  /** One delivery: the oldest held events (nextDelivery) to the queue, then the next batch or a retry. */
  override async alarm(): Promise<void> {
    const rows = this.nextDelivery();
    const last = rows.at(-1);
    if (last === undefined) {
      this.sql.exec('DELETE FROM delivery');
      return;
    }
    try {
      const events = rows.map((row) => JSON.parse(row.body) as StoredEvent);
      await withDeadline(this.deliver(events), DELIVERY_DEADLINE_MS, 'Outbox delivery');
    } catch (error) {
      const failedAttempts = this.failedAttempts() + 1;
      const retryInSeconds = retryDelaySeconds(failedAttempts + 1);
      const detail = describeError(error);
      this.sql.exec(
        `INSERT INTO delivery (id, failed_attempts, last_error) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET failed_attempts = excluded.failed_attempts, last_error = excluded.last_error`,
        failedAttempts,
        detail.slice(0, 200),
      );
      await this.ctx.storage.setAlarm(Date.now() + retryInSeconds * 1000);
      log('warn', 'outbox_delivery_failed', {
        failedAttempts,
        retryInSeconds,
        waiting: this.waiting(),
        error,
      });
      return;
    }
    this.sql.exec('DELETE FROM held_events WHERE seq <= ?', last.seq);
    this.sql.exec('DELETE FROM delivery');
    this.heldCount = undefined; // counted again: once per delivery of up to DELIVERY_BATCH events
    const waiting = this.waiting();
    log('info', 'outbox_delivered', { delivered: rows.length, waiting });
    if (waiting > 0) await this.ctx.storage.setAlarm(Date.now());
  }

  /** The oldest held events, up to DELIVERY_BATCH of them and DELIVERY_BYTES (read row by row). */
  private nextDelivery(): { seq: number; body: string }[] {
    const rows: { seq: number; body: string }[] = [];
    let bytes = 0;
    for (const row of this.sql.exec<{ seq: number; body: string }>(
      'SELECT seq, body FROM held_events ORDER BY seq LIMIT ?',
      DELIVERY_BATCH,
    )) {
      rows.push(row);
      bytes += row.body.length;
      if (bytes >= DELIVERY_BYTES) break;
    }
    return rows;
  }

  async status(): Promise<OutboxStatus> {
    const oldest = this.sql
      .exec<{ held_at: number }>('SELECT held_at FROM held_events ORDER BY seq LIMIT 1')
      .toArray()[0];
    const delivery = this.sql
      .exec<{ failed_attempts: number; last_error: string | null }>(
        'SELECT failed_attempts, last_error FROM delivery WHERE id = 1',
      )
      .toArray()[0];
    const shards = this.sql
      .exec<{ highest: number; noted_at: number }>('SELECT highest, noted_at FROM shards_used WHERE id = 1')
      .toArray()[0];
    const alarm = await this.ctx.storage.getAlarm();
    return {
      waiting: this.waiting(),
      oldestHeldAt: oldest === undefined ? null : new Date(oldest.held_at).toISOString(),
      failedAttempts: delivery?.failed_attempts ?? 0,
      nextAttemptAt: alarm === null ? null : new Date(alarm).toISOString(),
      lastError: delivery?.last_error ?? null,
      shardsUsed: shards?.highest ?? 1,
      shardsNotedAt: shards?.noted_at ?? null,
    };
  }

  private waiting(): number {
    this.heldCount ??= this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM held_events').one().n;
    return this.heldCount;
  }

  private failedAttempts(): number {
    const row = this.sql
      .exec<{ failed_attempts: number }>('SELECT failed_attempts FROM delivery WHERE id = 1')
      .toArray()[0];
    return row?.failed_attempts ?? 0;
  }
}
