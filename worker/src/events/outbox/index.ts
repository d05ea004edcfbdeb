import type { RxEvent, StoredEvent } from '../../../../contracts/events';
import { contextDigest } from '../../cache/keys';
import { setting } from '../../config';
import type { Env } from '../../env';
import { type ComponentHealth, publicDetail, registerHealthProbe } from '../../health';
import { withDeadline } from '../../with-deadline';
import { enrichEvents } from '../enrich';
import type { HoldResult, OutboxStatus } from './event-outbox-object';

export {
  DELIVERY_BATCH,
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
/** Most shards `OUTBOX_SHARDS` may ask for: `/healthz` asks each one for its status. */
export { MAX_OUTBOX_SHARDS } from '../../settings';

/** Longest wait for the outbox to hold events (on the intake path a sender waits for the answer). */
const HOLD_BUDGET_MS = 5_000;
/** `/healthz` does not wait longer than this for the outbox's answer. */
const STATUS_BUDGET_MS = 2_000;

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
 * Throws `OutboxRefusedError` when any could not be held.
 */
export async function holdEvents(
  env: Pick<Env, 'EVENT_OUTBOX' | 'OUTBOX_SHARDS' | 'SITE_ID' | 'HOLDOUT_PERCENT'>,
  events: RxEvent[],
): Promise<HoldResult> {
  return holdStoredEvents(env, await enrichEvents(env, events));
}

/**
 * Hands already enriched events to the outbox (the intake's, enriched for the queue). Throws
 * `OutboxRefusedError` when any could not be held, and a `DeadlineError` when the outbox did not
 * answer within HOLD_BUDGET_MS: the caller then treats them as not held, and a hand-over that
 * completed after all is harmless, since each `messageId` is stored once.
 */
export async function holdStoredEvents(
  env: Pick<Env, 'EVENT_OUTBOX' | 'OUTBOX_SHARDS'>,
  events: StoredEvent[],
): Promise<HoldResult> {
  const shard = outbox(env, outboxShardOf(events, outboxShards(env)));
  const result = await withDeadline(shard.hold(events), HOLD_BUDGET_MS, 'The outbox hand-over');
  if (result.refused > 0) {
    throw new OutboxRefusedError(
      `The outbox is full (${result.waiting} events waiting); ${result.refused} refused`,
    );
  }
  return result;
}

/** The outbox's health: degraded while any shard holds events (the queue refused them), with why. */
export async function outboxHealth(
  env: Pick<Env, 'EVENT_OUTBOX' | 'OUTBOX_SHARDS'>,
): Promise<ComponentHealth> {
  if (!env.EVENT_OUTBOX) return { status: 'disabled', detail: 'not configured' };
  const shards = outboxShards(env);
  const answers = await Promise.allSettled(
    Array.from({ length: shards }, (_, index) =>
      withDeadline(outbox(env, index).status(), STATUS_BUDGET_MS, 'The outbox status'),
    ),
  );
  const statuses: OutboxStatus[] = [];
  for (const answer of answers) {
    if (answer.status === 'fulfilled') {
      statuses.push(answer.value);
      continue;
    }
    const detail = answer.reason instanceof Error ? answer.reason.message : String(answer.reason);
    return { status: 'degraded', detail: `outbox status unavailable: ${publicDetail(detail)}` };
  }
  const status = combined(statuses);
  if (status.waiting === 0) return { status: 'ok' };
  const parts = [`${status.waiting} event(s) held since ${status.oldestHeldAt} while the queue refused them`];
  if (status.nextAttemptAt) parts.push(`next delivery ${status.nextAttemptAt}`);
  if (status.lastError) parts.push(`${status.failedAttempts} failed: ${publicDetail(status.lastError)}`);
  if (shards > 1)
    parts.push(`${statuses.filter((s) => s.waiting > 0).length} of ${shards} shards hold events`);
  return { status: 'degraded', detail: parts.join('; ') };
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
  };
}

/**
 * `/healthz` shows the outbox, from the objects themselves: an RPC to each shard, so an active probe
 * (its answer reused for a few seconds per isolate, see registerHealthProbe).
 */
export function registerOutboxHealth(): void {
  registerHealthProbe('outbox', outboxHealth, { active: true });
}
