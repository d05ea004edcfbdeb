/**
 * `GET /admin/live` says whether its counts are current (`counting`, contracts/live-api.ts): when the
 * consumer last counted events of the site, and which parts counting needs `/healthz` shows not ok.
 * Before, every way counting can stop (the consumer's Redis writes failing while reads work, MongoDB
 * down, the queue refusing events, no USER_HASH_KEY) left the same 200 with the frozen counts, and the
 * screen said "updated" over them. A file of its own: it breaks the event writer's MongoDB on purpose,
 * and each file has its own workerd (Durable Objects and module state).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import type { LiveAnswer, LiveCountingProblem } from '../../contracts/live-api';
import type { Env } from '../../worker/src/env';
import { reportRecovery } from '../../worker/src/health';
import { ADMIN_TOKEN, call, consume, edgeEnv, provided, warmIsolate } from './edge-api-support';
import { refusingQueue, runId, viewEvent, writerWith } from './events-support';

function liveSite() {
  const run = runId();
  const site = `live-counting-${run}`;
  let index = 0;
  const view = (): StoredEvent => ({
    type: 'track',
    event: 'Product Viewed',
    messageId: `${run}-${index++}`,
    anonymousId: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
    site,
    bucket: 'treatment',
    model_version: null,
    properties: { run },
  });
  const live = async (overrides: Parameters<typeof edgeEnv>[0] = {}) => {
    const response = await call(
      '/admin/live?days=1',
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
      { SITE_ID: site, ...overrides },
    );
    expect(response.status).toBe(200);
    return (await response.json()) as LiveAnswer;
  };
  return { run, site, view, live };
}

const problemOf = (answer: LiveAnswer, component: string): LiveCountingProblem | undefined =>
  answer.counting.problems.find((problem) => problem.component === component);

beforeAll(warmIsolate, 60_000);

describe('GET /admin/live says whether counting is current', () => {
  it('counting: the time of the last counted batch, and no problem while everything works', async () => {
    const { site, view, live } = liveSite();
    const fresh = await live();
    expect(fresh.counting.last_counted_at).toBeNull();
    expect(fresh.counting.problems).toEqual([]);
    expect(Math.abs(Date.parse(fresh.counting.as_of) - Date.now())).toBeLessThan(10_000);

    const before = Date.now();
    await consume([view()], edgeEnv({ SITE_ID: site }));
    const counted = await live();
    expect(Date.parse(counted.counting.last_counted_at ?? '')).toBeGreaterThanOrEqual(before);
    expect(counted.total.treatment.events).toBe(1);
  });

  it("the consumer's Redis writes failing while reads work: live_counters degraded, and no newer count", async () => {
    const { site, view, live } = liveSite();
    await consume([view()], edgeEnv({ SITE_ID: site }));
    const lastCounted = (await live()).counting.last_counted_at;
    expect(lastCounted).not.toBeNull();

    const down = edgeEnv({ UPSTASH_REDIS_REST_URL: provided().deadUpstashUrl, SITE_ID: site });
    expect((await consume([view()], down)).explicitAcks).toHaveLength(1);
    // Read through the working Upstash: the figures are there, and say they are not current.
    const answer = await live();
    expect(answer.total.treatment.events).toBe(1);
    expect(answer.counting.last_counted_at).toBe(lastCounted);
    expect(problemOf(answer, 'live_counters')).toMatchObject({ status: 'degraded' });
    expect(problemOf(answer, 'live_counters')?.detail).toBeTruthy();

    // A batch that counts again clears it.
    await consume([view()], edgeEnv({ SITE_ID: site }));
    const again = await live();
    expect(problemOf(again, 'live_counters')).toBeUndefined();
    expect(again.total.treatment.events).toBe(2);
  });

  it('MongoDB down (every batch fails, nothing counted): mongodb is a problem, as the writer object tells it', async () => {
    const { run, site, view, live } = liveSite();
    // The real event writer object behind a stub whose writes fail, as with a MongoDB that is down.
    const { env: broken } = writerWith(`live-counting-${run}`, () =>
      Promise.reject(new Error('MongoServerSelectionError: Server selection timed out')),
    );
    const result = await consume([view()], { ...broken, SITE_ID: site } as Env);
    expect(result.explicitAcks).toHaveLength(0);
    expect(result.retryMessages).toHaveLength(1);
    // Asked by an isolate that ran no batch (queue batches run in isolates of their own).
    reportRecovery('mongodb');
    const answer = await live({ EVENT_WRITER: broken.EVENT_WRITER, HEALTH_PROBE_CACHE_SECONDS: '0' });
    expect(answer.counting.last_counted_at).toBeNull();
    expect(answer.total.treatment.events).toBe(0);
    expect(problemOf(answer, 'mongodb')).toMatchObject({ status: 'degraded' });
    expect(problemOf(answer, 'mongodb')?.detail).toMatch(/^the last batch failed, none written since/);
  });

  it('without USER_HASH_KEY (nothing can be counted): user_hash is a problem', async () => {
    const { live } = liveSite();
    const answer = await live({ USER_HASH_KEY: '' });
    expect(problemOf(answer, 'user_hash')).toMatchObject({ status: 'degraded' });
    expect(problemOf(answer, 'user_hash')?.detail).toMatch(/USER_HASH_KEY/);
  });

  it('the queue refusing events (held by the outbox, not counted yet): queue is a problem', async () => {
    const { run, live } = liveSite();
    const refused = await call(
      '/v1/events',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ batch: [viewEvent(run, 0)] }),
      },
      { EVENTS: refusingQueue() },
    );
    expect(refused.status).toBe(503);
    const answer = await live();
    expect(problemOf(answer, 'queue')).toMatchObject({ status: 'degraded' });
  });
});
