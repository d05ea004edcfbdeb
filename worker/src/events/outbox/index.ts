import type { RxEvent, StoredEvent } from '../../../../contracts/events';
import { withDeadline } from '../../consumer/deadline';
import type { Env } from '../../env';
import { type ComponentHealth, registerHealthProbe } from '../../health';
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
 * One outbox for the site: it is called only while Queues refuses events (docs/analytics.md says up
 * to what traffic one instance serves, and what a larger shop would do).
 */
export const OUTBOX_NAME = 'events';
/** Longest wait for the outbox to hold events (on the intake path a sender waits for the answer). */
const HOLD_BUDGET_MS = 5_000;
/** `/healthz` does not wait longer than this for the outbox's answer. */
const STATUS_BUDGET_MS = 2_000;

/** The outbox refused events (full, or not bound): they rely on their sender's retry; the proxy's are lost. */
export class OutboxRefusedError extends Error {
  override readonly name = 'OutboxRefusedError';
}

function outbox(env: Pick<Env, 'EVENT_OUTBOX'>) {
  if (!env.EVENT_OUTBOX) throw new OutboxRefusedError('EVENT_OUTBOX is not bound (wrangler.toml)');
  return env.EVENT_OUTBOX.get(env.EVENT_OUTBOX.idFromName(OUTBOX_NAME));
}

/**
 * Hands events the queue refused to the durable outbox, which sends them on once the queue takes
 * them again. Enriched here, when the edge accepted them, exactly as `enqueueEvents` would have.
 * Throws `OutboxRefusedError` when any could not be held.
 */
export async function holdEvents(
  env: Pick<Env, 'EVENT_OUTBOX' | 'SITE_ID' | 'HOLDOUT_PERCENT'>,
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
  env: Pick<Env, 'EVENT_OUTBOX'>,
  events: StoredEvent[],
): Promise<HoldResult> {
  const result = await withDeadline(outbox(env).hold(events), HOLD_BUDGET_MS, 'The outbox hand-over');
  if (result.refused > 0) {
    throw new OutboxRefusedError(
      `The outbox is full (${result.waiting} events waiting); ${result.refused} refused`,
    );
  }
  return result;
}

/** The outbox's health: degraded while it holds events (the queue refused them), with why. */
export async function outboxHealth(env: Pick<Env, 'EVENT_OUTBOX'>): Promise<ComponentHealth> {
  if (!env.EVENT_OUTBOX) return { status: 'disabled', detail: 'not configured' };
  let status: OutboxStatus;
  try {
    status = await withDeadline(outbox(env).status(), STATUS_BUDGET_MS, 'The outbox status');
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { status: 'degraded', detail: `outbox status unavailable: ${detail}` };
  }
  if (status.waiting === 0) return { status: 'ok' };
  const parts = [`${status.waiting} event(s) held since ${status.oldestHeldAt} while the queue refused them`];
  if (status.nextAttemptAt) parts.push(`next delivery ${status.nextAttemptAt}`);
  if (status.lastError) parts.push(`${status.failedAttempts} failed: ${status.lastError}`);
  return { status: 'degraded', detail: parts.join('; ') };
}

/** `/healthz` shows the outbox (per request, from the object itself: it is one for the site). */
export function registerOutboxHealth(): void {
  registerHealthProbe('outbox', outboxHealth);
}
