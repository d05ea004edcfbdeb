import type { LiveCountingProblem } from '../../../contracts/live-api';
import { mongodbHealth, redisWritesHealth } from '../consumer/health-probe';
import { describeError } from '../describe-error';
import type { Env } from '../env';
import { outboxHealth } from '../events/outbox';
import { type ComponentHealth, componentHealth, publicDetail } from '../health';
import { redactAddresses, redactSecrets } from '../redact';
import { userHashHealth } from '../shopper/user-hash';

/**
 * What counting needs, each checked as `/healthz` checks it (the same functions: health.ts, the
 * consumer's and the outbox's probes, user-hash.ts): an event reaches the counters through the queue
 * (or, when the queue refuses it, the outbox until it is handed over), is stored in MongoDB, is made
 * pseudonyms with USER_HASH_KEY and is counted by the consumer's Redis writes. `optional`: `disabled`
 * is no problem (a worker without an outbox hands refused events back to their sender).
 */
const COUNTING_NEEDS: ReadonlyArray<{
  component: string;
  optional?: boolean;
  health: (env: Env) => Promise<ComponentHealth> | ComponentHealth;
}> = [
  // As this isolate saw the intake's sends (producer.ts reports them), as `/healthz` shows it.
  { component: 'queue', health: (env) => componentHealth('queue', Boolean(env.EVENTS)) },
  { component: 'outbox', optional: true, health: outboxHealth },
  { component: 'mongodb', health: mongodbHealth },
  { component: 'user_hash', health: userHashHealth },
  { component: 'live_counters', health: (env) => redisWritesHealth('live_counters', env) },
];

/**
 * The parts counting needs that are not `ok`, in the order an event passes them, for `GET /admin/live`
 * (`counting.problems`): the live screen says "counting is failing" with them rather than showing frozen
 * counts as current. Two RPCs (the event writer's status, shared by `mongodb` and `live_counters`, and
 * the outbox's), each bounded by its probe's own deadline (2 s); a check that throws is `down` with its
 * error, as `/healthz` shows a probe that threw. Never throws.
 */
export async function countingProblems(env: Env): Promise<LiveCountingProblem[]> {
  const checked = await Promise.all(
    COUNTING_NEEDS.map(async ({ component, optional, health }) => {
      let found: ComponentHealth;
      try {
        found = await health(env);
      } catch (error) {
        found = { status: 'down', detail: publicDetail(describeError(error)) };
      }
      if (found.status === 'ok' || (optional && found.status === 'disabled')) return undefined;
      const problem: LiveCountingProblem = { component, status: found.status };
      // As healthReport leaves it: no command, credential or server address, whatever the check composed.
      if (found.detail !== undefined) problem.detail = redactAddresses(redactSecrets(found.detail));
      return problem;
    }),
  );
  return checked.filter((problem) => problem !== undefined);
}
