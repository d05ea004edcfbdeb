import type { Env } from '../env';
import { lastFailure } from '../health';
import { log } from '../log';
import { withDeadline } from '../with-deadline';
import { forgetWriterStatus } from './health-probe';
import { eventWriter } from './store';
import type { RedisComponent } from './writer-status';

export const RELAYED_COMPONENTS: readonly RedisComponent[] = ['activity', 'live_counters'];

/** A failure still going on is told again this often, so the writer's record stays fresh. */
const RETELL_MS = 60_000;
const RELAY_BUDGET_MS = 2_000;

/** What this isolate last told the writer, per component: the failure's time, or null for "working". */
const told = new Map<RedisComponent, number | null>();

/**
 * Tells the event writer object how this batch's Redis writes went (recent activity, live counters),
 * so `/healthz`, answered by other isolates, can show it (health-probe.ts). Only a change is told (or a
 * failure going on, once a minute): a healthy consumer makes one call per isolate, not one per batch.
 * Never throws and waits at most RELAY_BUDGET_MS: health must not hold up the acks.
 */
export async function relayRedisHealth(env: Env): Promise<void> {
  const writer = eventWriter(env);
  if (!writer) return;
  // Also after this batch's MongoDB write, which the writer's status tells of.
  forgetWriterStatus();
  await Promise.all(
    RELAYED_COMPONENTS.map(async (component) => {
      const failure = lastFailure(component);
      const previous = told.get(component);
      const unchanged =
        failure === undefined
          ? previous === null
          : typeof previous === 'number' && failure.at - previous < RETELL_MS;
      if (unchanged) return;
      told.set(component, failure === undefined ? null : failure.at);
      try {
        await withDeadline(
          writer.noteRedisWrite(component, failure?.detail),
          RELAY_BUDGET_MS,
          'The event writer status',
        );
      } catch (error) {
        told.delete(component);
        log('warn', 'redis_health_not_relayed', { component, error });
      }
    }),
  );
}
