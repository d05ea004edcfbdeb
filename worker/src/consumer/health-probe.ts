import type { Env } from '../env';
import {
  type ComponentHealth,
  componentHealth,
  probeCacheMs,
  publicDetail,
  registerHealthProbe,
  upstashHealth,
} from '../health';
import { withDeadline } from '../with-deadline';
import { withoutValues } from './failure-detail';
import { mongoUriProblem } from './mongo-uri';
import { eventWriter } from './store';
import {
  DEAD_LETTER_WINDOW_MS,
  REFUSED_WINDOW_MS,
  type RedisComponent,
  type WriterStatus,
} from './writer-status';

/**
 * `/healthz` shows the consumer's view of MongoDB and of its Redis writes: `activity` (recent activity,
 * purchases, generations) and `live_counters` (the live experiment counters). Queue invocations run in
 * isolates of their own, so the isolate answering `/healthz` has usually run no batch: each component
 * combines this isolate's own reports with what the event writer object was told (`EventWriter.status`).
 */
export function registerConsumerHealth(): void {
  registerHealthProbe('mongodb', mongodbHealth, { active: true });
  registerHealthProbe('activity', (env) => redisWritesHealth('activity', env), { active: true });
  registerHealthProbe('live_counters', (env) => redisWritesHealth('live_counters', env), { active: true });
}

/** How long `/healthz` waits for the writer object's status. */
const WRITER_STATUS_BUDGET_MS = 2_000;
/** A failed Redis write a consumer relayed shows for this long (a failure going on is relayed each minute). */
export const RELAYED_FAILURE_WINDOW_MS = 10 * 60_000;

/** The writer's status, asked once for the three components of one report. */
let asked: { at: number; status: Promise<WriterStatus> } | undefined;
const ASKED_REUSE_MS = 1_000;

/** A batch this isolate ran changed the writer's status: the next report asks again. */
export function forgetWriterStatus(): void {
  asked = undefined;
}

function writerStatus(env: Env): Promise<WriterStatus> | undefined {
  const writer = eventWriter(env);
  if (!writer) return undefined;
  // HEALTH_PROBE_CACHE_SECONDS=0 (no reuse of probe answers) asks every time.
  const reuseMs = Math.min(ASKED_REUSE_MS, probeCacheMs(env));
  if (asked === undefined || Date.now() - asked.at >= reuseMs) {
    const status = withDeadline(writer.status(), WRITER_STATUS_BUDGET_MS, 'The event writer status');
    // A rejection is read by whoever awaits it; this copy must not be reported as unhandled.
    status.catch(() => undefined);
    asked = { at: Date.now(), status };
  }
  return asked.status;
}

/**
 * MongoDB as the consumer sees it: down while MONGODB_URI cannot work from a Worker, or is missing while
 * events are queued (each would go to the dead-letter queue after its retries); degraded while the
 * writer's last batch failed, for a minute after a batch this isolate ran had to be retried, while
 * MongoDB refuses events for good (kept in `rejected_events`, out of every report), and after events
 * went to the dead-letter queue until a replay wrote them, or for days (DEAD_LETTER_WINDOW_MS). An
 * RPC, so an active probe (its answer reused for a few seconds per isolate). The writer keeps its
 * details without the values MongoDB's messages quote; they are cut here too, for records an older
 * version kept.
 */
export async function mongodbHealth(env: Env): Promise<ComponentHealth> {
  const problem = env.MONGODB_URI ? mongoUriProblem(env.MONGODB_URI) : undefined;
  if (problem !== undefined) return { status: 'down', detail: problem };
  if (!env.MONGODB_URI && env.EVENTS) {
    return {
      status: 'down',
      detail: 'events are accepted and queued but cannot be stored: MONGODB_URI is not set',
    };
  }
  const own = componentHealth('mongodb', Boolean(env.MONGODB_URI));
  // Not ok (or disabled, without MONGODB_URI): that is the answer, without asking the writer.
  if (own.status !== 'ok') return own;
  let status: WriterStatus | undefined;
  try {
    status = await writerStatus(env);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { status: 'degraded', detail: `event writer status unavailable: ${publicDetail(detail)}` };
  }
  // Each part is one of: the events in the dead-letter queue (which nothing else shows: once MongoDB is
  // back the next written batch clears the failure), the last batch's failure, the recent refusals.
  const parts: Array<{ detail: string; at: string }> = [];
  const dead = status?.deadLettered;
  if (dead && Date.now() - Date.parse(dead.lastAt) < DEAD_LETTER_WINDOW_MS) {
    parts.push({
      detail: `${dead.events} event(s) in ${dead.messages} message(s) went to the dead-letter queue since ${dead.since}, out of retries; replay them with scripts/replay-dlq.ts (docs/analytics.md)`,
      at: dead.lastAt,
    });
  }
  const refused = status?.refused;
  if (status?.failure) {
    parts.push({
      detail: publicDetail(
        `the last batch failed, none written since: ${withoutValues(status.failure.detail)}`,
      ),
      at: status.failure.at,
    });
  } else if (refused && Date.now() - Date.parse(refused.lastAt) < REFUSED_WINDOW_MS) {
    parts.push({
      detail: publicDetail(
        `${refused.count} event(s) kept out of events since ${refused.since}, in rejected_events: ${withoutValues(refused.detail)}`,
      ),
      at: refused.lastAt,
    });
  }
  if (parts.length === 0) return own;
  return {
    status: 'degraded',
    detail: parts.map((part) => part.detail).join('; '),
    // The batch's failure when there is one (the last part), else the latest.
    lastFailureAt:
      status?.failure?.at ??
      parts
        .map((part) => part.at)
        .sort()
        .at(-1),
  };
}

/**
 * The consumer's writes of one Redis component: down while the Upstash URL cannot work, degraded after a
 * failure this isolate saw (a minute) or a consumer relayed to the writer (RELAYED_FAILURE_WINDOW_MS,
 * until a batch's write succeeds).
 */
export async function redisWritesHealth(component: RedisComponent, env: Env): Promise<ComponentHealth> {
  const own = upstashHealth(component, env);
  if (own.status !== 'ok') return own;
  let relayed: WriterStatus['redis'][RedisComponent];
  try {
    relayed = (await writerStatus(env))?.redis[component];
  } catch {
    // The writer's own trouble shows under `mongodb`; this isolate's view stands.
    return own;
  }
  if (relayed && Date.now() - Date.parse(relayed.at) < RELAYED_FAILURE_WINDOW_MS) {
    return { status: 'degraded', detail: publicDetail(relayed.detail), lastFailureAt: relayed.at };
  }
  return own;
}
