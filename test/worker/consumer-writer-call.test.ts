/**
 * A consumer call to the EventWriter Durable Object that fails as a whole (the object overloaded, reset,
 * or not answering): `write` never ran, so the object recorded nothing, while `/healthz` asks the object.
 * The consumer then tells the object in a short second call (store.ts noteCallFailure). Here the object
 * is the real one (its storage, its status), behind a stub whose `write` fails or hangs.
 */
import { createExecutionContext, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { handleEventBatch } from '../../worker/src/consumer';
import { mongodbHealth } from '../../worker/src/consumer/health-probe';
import { NOTE_BUDGET_MS } from '../../worker/src/consumer/store';
import type { Env } from '../../worker/src/env';
import { reportRecovery } from '../../worker/src/health';
import { batchOf, runId, storedEvents, writerWith } from './events-support';

const workerEnv = env as unknown as Env;

/** `/healthz`'s mongodb as an isolate that ran no batch sees it (queue batches run in isolates of their own). */
async function seenElsewhere(asking: Env) {
  reportRecovery('mongodb');
  return mongodbHealth(asking);
}

describe('a failed call to the event writer object reaches /healthz', () => {
  it('an overloaded object: every message retried, /healthz degraded with why, until a batch is written', async () => {
    const run = runId();
    const { real, env: asking } = writerWith(`overloaded-${run}`, () =>
      Promise.reject(new Error('Durable Object is overloaded. Too many requests queued.')),
    );
    const events = storedEvents(run, 3);
    const batch = batchOf(events, `overloaded-${run}`);
    const ctx = createExecutionContext();
    await handleEventBatch(batch, asking);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toHaveLength(3);

    const down = await seenElsewhere(asking);
    expect(down.status).toBe('degraded');
    expect(down.detail).toBe(
      'the last batch failed, none written since: Error: Durable Object is overloaded. Too many requests queued.',
    );

    // The next batch the object writes clears it.
    const written = await real.write({ events, rejected: [] });
    expect(written.events.map((outcome) => outcome.kind)).toEqual(['stored', 'stored', 'stored']);
    expect(await seenElsewhere(asking)).toEqual({ status: 'ok' });
  });

  it('an object that does not answer: the call passes its deadline, and /healthz says so', async () => {
    const run = runId();
    const { env: asking } = writerWith(`hung-${run}`, () => new Promise<never>(() => undefined));
    // The call's deadline is the write deadline + 5 s.
    const hungEnv = { ...asking, MONGODB_WRITE_DEADLINE_MS: '100' };
    const batch = batchOf(storedEvents(run, 2), `hung-${run}`);
    const ctx = createExecutionContext();
    await handleEventBatch(batch, hungEnv);
    expect((await getQueueResult(batch, ctx)).retryMessages).toHaveLength(2);
    const down = await seenElsewhere(asking);
    expect(down.status).toBe('degraded');
    expect(down.detail).toBe(
      'the last batch failed, none written since: DeadlineError: EventWriter call took longer than 5100 ms',
    );
  }, 20_000);

  it('a note the object cannot take either holds the batch for at most a short while', async () => {
    const run = runId();
    const hung = {
      write: () => Promise.reject(new Error('Durable Object reset because its code was updated.')),
      noteCallFailure: () => new Promise<never>(() => undefined),
    };
    const namespace = { idFromName: () => ({}), get: () => hung } as unknown as Env['EVENT_WRITER'];
    const batch = batchOf(storedEvents(run, 2), `note-hung-${run}`);
    const ctx = createExecutionContext();
    const started = Date.now();
    await handleEventBatch(batch, { ...workerEnv, EVENT_WRITER: namespace });
    expect(Date.now() - started).toBeLessThan(NOTE_BUDGET_MS + 1_000);
    expect((await getQueueResult(batch, ctx)).retryMessages).toHaveLength(2);
  });
});
