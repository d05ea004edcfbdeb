import { componentHealth, registerHealthProbe, upstashHealth } from '../health';
import { mongoUriProblem } from './mongo-uri';

/**
 * `/healthz` shows the consumer's view of MongoDB (degraded for a minute after a batch had to be
 * retried; down while MONGODB_URI cannot work from a Worker, as no batch can be stored then) and of
 * its Redis writes: `activity` (recent activity, purchases, generations) and `live_counters` (the
 * live experiment counters). Per isolate, like every health entry.
 */
export function registerConsumerHealth(): void {
  registerHealthProbe('mongodb', (env) => {
    const problem = env.MONGODB_URI ? mongoUriProblem(env.MONGODB_URI) : undefined;
    if (problem !== undefined) return { status: 'down', detail: problem };
    return componentHealth('mongodb', Boolean(env.MONGODB_URI));
  });
  registerHealthProbe('activity', (env) => upstashHealth('activity', env));
  registerHealthProbe('live_counters', (env) => upstashHealth('live_counters', env));
}
