import { componentHealth, registerHealthProbe } from '../health';

/**
 * `/healthz` shows the consumer's view of MongoDB (degraded for a minute after a batch had to be
 * retried) and of the Redis activity writes. Per isolate, like every health entry.
 */
export function registerConsumerHealth(): void {
  registerHealthProbe('mongodb', (env) => componentHealth('mongodb', Boolean(env.MONGODB_URI)));
  registerHealthProbe('activity', (env) =>
    componentHealth('activity', Boolean(env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN)),
  );
}
