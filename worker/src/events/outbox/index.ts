import type { RxEvent, StoredEvent } from '../../../../contracts/events';
import { contextDigest } from '../../cache/keys';
import { setting } from '../../config';
import type { Env } from '../../env';
import { type ComponentHealth, publicDetail, registerHealthProbe } from '../../health';
import { log } from '../../log';
import { MAX_OUTBOX_SHARDS } from '../../settings';
import { withDeadline } from '../../with-deadline';
import { enrichEvents } from '../enrich';
import type { HoldResult, OutboxStatus } from './event-outbox-object';

export {
  DELIVERY_BATCH,
  DELIVERY_BYTES,
  EventOutbox,
  type HoldResult,
  MAX_HELD_EVENTS,
  type OutboxStatus,
} from './event-outbox-object';

/**
 * The outbox's name, and the name of its first shard. It is called only while Queues refuses events;
 * one Durable Object serves about 1,000 requests a second (Cloudflare's documented soft limit), so a
 * shop with more intake requests or proxied page views than that during an outage sets
 * `OUTBOX_SHARDS` (docs/analytics.md "When the queue refuses events").
 */
export const OUTBOX_NAME = 'events';
/** Most shards `OUTBOX_SHARDS` may ask for: `/healthz` asks each one in use for its status. */
export { MAX_OUTBOX_SHARDS };

/** Longest wait for the outbox to hold events (on the intake path a sender waits for the answer). */
const HOLD_BUDGET_MS = 5_000;
/** `/healthz` does not wait longer than this for the outbox's answer. */
const STATUS_BUDGET_MS = 2_000;
/**
 * An isolate that hands events to a shard above the first tells shard 0 the shard count it uses
 * (EventOutbox.noteShards) once, and again after this long while it keeps handing over: `/healthz` then
 * knows which shards to ask after OUTBOX_SHARDS is lowered. Shard 0 forgets a higher count only once
 * nothing noted it for twice this long and the shards above the current count hold nothing.
 */
export const SHARDS_RENOTE_MS = 10 * 60_000;

/** The outbox refused events (full, or not bound): they rely on their sender's retry; the proxy's are lost. */
export class OutboxRefusedError extends Error {
  override readonly name = 'OutboxRefusedError';
}

/** `OUTBOX_SHARDS`: a whole number from 1 to MAX_OUTBOX_SHARDS; anything else means 1 (settings.ts). */
export function outboxShards(env: Pick<Env, 'OUTBOX_SHARDS'>): number {
  return setting(env, 'OUTBOX_SHARDS');
}

/**
 * Shard `index`'s object name. Shard 0 keeps the unsharded outbox's name, so events an outbox of one
 * held are still delivered when a shop adds shards.
 */
export function outboxShardName(index: number): string {
  return index === 0 ? OUTBOX_NAME : `${OUTBOX_NAME}-${index}`;
}

/**
 * The shard of a hand-over: by its first event's `messageId` (the first 32 bits of the project's FNV-1a
 * `contextDigest`), so a repeated hand-over of the same events (a sender's retry) reaches the shard that
 * already holds them and is kept once.
 */
export function outboxShardOf(events: readonly StoredEvent[], shards: number): number {
  return Number.parseInt(contextDigest(events[0]?.messageId ?? '').slice(0, 8), 16) % shards;
}

function outbox(env: Pick<Env, 'EVENT_OUTBOX'>, index: number) {
  if (!env.EVENT_OUTBOX) throw new OutboxRefusedError('EVENT_OUTBOX is not bound (wrangler.toml)');
  return env.EVENT_OUTBOX.get(env.EVENT_OUTBOX.idFromName(outboxShardName(index)));
}

/**
 * Hands events the queue refused to the durable outbox, which sends them on once the queue takes
 * them again. Enriched here, when the edge accepted them, exactly as `enqueueEvents` would have.
 * Throws `OutboxRefusedError` when they could not be held (then none of them is).
 */
export async function holdEvents(
  env: Pick<Env, 'EVENT_OUTBOX' | 'OUTBOX_SHARDS' | 'SITE_ID' | 'HOLDOUT_PERCENT'>,
  events: RxEvent[],
): Promise<HoldResult> {
  return holdStoredEvents(env, await enrichEvents(env, events));
}

/**
 * Hands already enriched events to the outbox (the intake's, enriched for the queue). Throws
 * `OutboxRefusedError` when they could not be held (the outbox holds a hand-over whole or not at all,
 * so then none of its new events is held: EventOutbox.hold), and a `DeadlineError` when the outbox did not
 * answer within HOLD_BUDGET_MS: the caller then treats them as not held, and a hand-over that
 * completed after all is harmless, since each `messageId` is stored once.
 */
export async function holdStoredEvents(
  env: Pick<Env, 'EVENT_OUTBOX' | 'OUTBOX_SHARDS'>,
  events: StoredEvent[],
): Promise<HoldResult> {
  const shards = outboxShards(env);
  const index = outboxShardOf(events, shards);
  const shard = outbox(env, index);
  const [result] = await Promise.all([
    withDeadline(shard.hold(events), HOLD_BUDGET_MS, 'The outbox hand-over'),
    index > 0 ? noteShardsUsed(env, shards) : undefined,
  ]);
  if (result.refused > 0) {
    throw new OutboxRefusedError(
      `The outbox is full (${result.waiting} events waiting); ${result.refused} refused`,
    );
  }
  return result;
}

/** The shard count this isolate last told shard 0, and when. */
let notedShards: { count: number; at: number } | undefined;

/**
 * Tells shard 0 that hand-overs go to `shards` shards (see SHARDS_RENOTE_MS), alongside a hand-over to
 * another shard. Never throws, and never fails the hand-over: a failed note is tried again with the
 * next one.
 */
async function noteShardsUsed(env: Pick<Env, 'EVENT_OUTBOX'>, shards: number): Promise<void> {
  const now = Date.now();
  if (notedShards?.count === shards && now - notedShards.at < SHARDS_RENOTE_MS) return;
  notedShards = { count: shards, at: now };
  try {
    await withDeadline(outbox(env, 0).noteShards(shards), HOLD_BUDGET_MS, 'The outbox shard count');
  } catch (error) {
    notedShards = undefined;
    log('warn', 'outbox_shards_not_noted', { shards, error });
  }
}

/** The statuses of shards `from` to `to - 1`, or the first failure's detail. */
async function shardStatuses(
  env: Pick<Env, 'EVENT_OUTBOX'>,
  from: number,
  to: number,
): Promise<OutboxStatus[] | string> {
  const answers = await Promise.allSettled(
    Array.from({ length: Math.max(0, to - from) }, (_, offset) =>
      withDeadline(outbox(env, from + offset).status(), STATUS_BUDGET_MS, 'The outbox status'),
    ),
  );
  const statuses: OutboxStatus[] = [];
  for (const answer of answers) {
    if (answer.status === 'rejected') {
      return answer.reason instanceof Error ? answer.reason.message : String(answer.reason);
    }
    statuses.push(answer.value);
  }
  return statuses;
}

/**
 * The outbox's health: degraded while any shard holds events (the queue refused them), with why. It asks
 * the OUTBOX_SHARDS shards and, after that setting was lowered, the shards above it that hand-overs
 * used (shard 0 keeps the most used, EventOutbox.noteShards): they still hold and deliver events. Once
 * those hold nothing and no hand-over has noted the higher count for 2 × SHARDS_RENOTE_MS, shard 0 is
 * told to forget it, so `/healthz` goes back to asking OUTBOX_SHARDS shards.
 */
export async function outboxHealth(
  env: Pick<Env, 'EVENT_OUTBOX' | 'OUTBOX_SHARDS'>,
): Promise<ComponentHealth> {
  if (!env.EVENT_OUTBOX) return { status: 'disabled', detail: 'not configured' };
  const shards = outboxShards(env);
  const current = await shardStatuses(env, 0, shards);
  if (typeof current === 'string') return unavailable(current);
  const used = Math.min(MAX_OUTBOX_SHARDS, current[0]?.shardsUsed ?? 1);
  const above = used > shards ? await shardStatuses(env, shards, used) : [];
  if (typeof above === 'string') return unavailable(above);
  const notedAt = current[0]?.shardsNotedAt ?? null;
  const emptyAbove = above.length > 0 && above.every((status) => status.waiting === 0);
  if (emptyAbove && notedAt !== null && Date.now() - notedAt >= 2 * SHARDS_RENOTE_MS) {
    await forgetShardsAbove(env, shards, notedAt);
  }
  // Shards above the setting are named only while they hold events.
  const statuses = emptyAbove ? current : [...current, ...above];
  const status = combined(statuses);
  if (status.waiting === 0) return { status: 'ok' };
  const parts = [`${status.waiting} event(s) held since ${status.oldestHeldAt} while the queue refused them`];
  if (status.nextAttemptAt) parts.push(`next delivery ${status.nextAttemptAt}`);
  if (status.lastError) parts.push(`${status.failedAttempts} failed: ${publicDetail(status.lastError)}`);
  const asked = statuses.length;
  if (asked > 1) {
    const holding = statuses.filter((s) => s.waiting > 0).length;
    parts.push(
      asked > shards
        ? `${holding} of ${asked} shards hold events (OUTBOX_SHARDS is ${shards}; the shards above it still deliver theirs)`
        : `${holding} of ${asked} shards hold events`,
    );
  }
  return { status: 'degraded', detail: parts.join('; ') };
}

function unavailable(detail: string): ComponentHealth {
  return { status: 'degraded', detail: `outbox status unavailable: ${publicDetail(detail)}` };
}

/** Best effort: a failure leaves the higher count, and the next report tries again. */
async function forgetShardsAbove(
  env: Pick<Env, 'EVENT_OUTBOX'>,
  shards: number,
  notedAt: number,
): Promise<void> {
  try {
    await withDeadline(
      outbox(env, 0).forgetShards(shards, notedAt),
      STATUS_BUDGET_MS,
      'The outbox shard count',
    );
  } catch (error) {
    log('warn', 'outbox_shards_not_forgotten', { shards, error });
  }
}

/** The shards' statuses as one: events summed, the oldest hold, the next delivery, the worst failure. */
function combined(statuses: readonly OutboxStatus[]): OutboxStatus {
  const earliest = (values: Array<string | null>) =>
    values.filter((value): value is string => value !== null).sort()[0] ?? null;
  const worst = [...statuses].sort((a, b) => b.failedAttempts - a.failedAttempts)[0];
  return {
    waiting: statuses.reduce((sum, status) => sum + status.waiting, 0),
    oldestHeldAt: earliest(statuses.map((status) => status.oldestHeldAt)),
    nextAttemptAt: earliest(statuses.map((status) => status.nextAttemptAt)),
    failedAttempts: worst?.failedAttempts ?? 0,
    lastError: worst?.lastError ?? null,
    shardsUsed: statuses.length,
    shardsNotedAt: null,
  };
}

/**
 * `/healthz` shows the outbox, from the objects themselves: an RPC to each shard, so an active probe
 * (its answer reused for a few seconds per isolate, see registerHealthProbe).
 */
export function registerOutboxHealth(): void {
  registerHealthProbe('outbox', outboxHealth, { active: true });
}
