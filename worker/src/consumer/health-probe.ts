import type { Env } from '../env';
import {
  type ComponentHealth,
  componentHealth,
  publicDetail,
  registerHealthProbe,
  upstashHealth,
} from '../health';
import { withDeadline } from '../with-deadline';
import type { WriterFailure } from './event-writer-object';
import { mongoUriProblem } from './mongo-uri';
import { eventWriter } from './store';

/**
 * `/healthz` shows the consumer's view of MongoDB (degraded while the writer object's last batch
 * failed, and for a minute after a batch this isolate ran had to be retried; down while MONGODB_URI
 * cannot work from a Worker, as no batch can be stored then) and of its Redis writes: `activity`
 * (recent activity, purchases, generations) and `live_counters` (the live experiment counters), which
 * are per isolate, like most health entries.
 */
export function registerConsumerHealth(): void {
  registerHealthProbe('mongodb', mongodbHealth, { active: true });
  registerHealthProbe('activity', (env) => upstashHealth('activity', env));
  registerHealthProbe('live_counters', (env) => upstashHealth('live_counters', env));
}

/** How long `/healthz` waits for the writer object's status. */
const WRITER_STATUS_BUDGET_MS = 2_000;

/**
 * MongoDB as the consumer sees it: this isolate's own reports (a batch it ran), and, when the writer
 * object is bound, the writer's last batch (`EventWriter.status`): the isolate answering `/healthz` is
 * usually not one that ran the consumer, while every batch goes through the writer. An RPC, so an
 * active probe (its answer reused for a few seconds per isolate).
 */
export async function mongodbHealth(env: Env): Promise<ComponentHealth> {
  const problem = env.MONGODB_URI ? mongoUriProblem(env.MONGODB_URI) : undefined;
  if (problem !== undefined) return { status: 'down', detail: problem };
  const own = componentHealth('mongodb', Boolean(env.MONGODB_URI));
  const writer = eventWriter(env);
  // Not ok (or disabled, without MONGODB_URI): that is the answer, without asking the writer.
  if (own.status !== 'ok' || !writer) return own;
  let failure: WriterFailure | null;
  try {
    failure = await withDeadline(writer.status(), WRITER_STATUS_BUDGET_MS, 'The event writer status');
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { status: 'degraded', detail: `event writer status unavailable: ${publicDetail(detail)}` };
  }
  if (!failure) return own;
  return {
    status: 'degraded',
    detail: publicDetail(`the last batch failed, none written since: ${failure.detail}`),
    lastFailureAt: failure.at,
  };
}
