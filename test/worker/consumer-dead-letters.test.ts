/**
 * Messages the consumer retries on their last delivery go to the dead-letter queue (wrangler.toml
 * `max_retries`). Nothing else records that: once MongoDB is back the next written batch clears the
 * writer's failure, and the events would expire with the queue's retention unless someone replays them.
 * So the consumer tells the writer object (EventWriter.noteDeadLetters), and `/healthz` says `mongodb:
 * degraded` for DEAD_LETTER_WINDOW_MS after the last one. The object here is the real one (its storage,
 * its status), behind a stub whose `write` is the test's.
 */
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runInDurableObject,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { handleEventBatch } from '../../worker/src/consumer';
import { isLastAttempt, MAX_RETRIES } from '../../worker/src/consumer/backoff';
import type { WriteRequest, WriteResult } from '../../worker/src/consumer/event-writer';
import type { EventWriter } from '../../worker/src/consumer/event-writer-object';
import { mongodbHealth } from '../../worker/src/consumer/health-probe';
import { DEAD_LETTER_WINDOW_MS, type WriterDeadLetters } from '../../worker/src/consumer/writer-status';
import type { Env } from '../../worker/src/env';
import { packEvents } from '../../worker/src/events/event-pack';
import { reportRecovery } from '../../worker/src/health';
import { runId, storedEvents, writerWith } from './events-support';

/** Every event comes back `retry`, as from a MongoDB that is down. */
const retryAll = async (request: WriteRequest): Promise<WriteResult> => ({
  events: request.events.map(() => ({
    kind: 'retry',
    reason: 'MongoServerSelectionError: Server selection timed out',
  })),
  rejected: request.rejected.map(() => ({
    kind: 'retry',
    reason: 'MongoServerSelectionError: Server selection timed out',
  })),
});

/** A queue batch of `bodies` delivered for the `attempts[i]`-th time. */
function batchAt(prefix: string, bodies: unknown[], attempts: number[]) {
  return createMessageBatch(
    'rx-events',
    bodies.map((body, i) => ({
      id: `${prefix}-${i}`,
      timestamp: new Date(),
      attempts: attempts[i] ?? 1,
      body,
    })),
  );
}

/** `/healthz`'s mongodb as an isolate that ran no batch sees it (queue batches run in isolates of their own). */
async function seenElsewhere(asking: Env) {
  reportRecovery('mongodb');
  return mongodbHealth(asking);
}

const DEAD_LETTERED =
  /^(\d+) event\(s\) in (\d+) message\(s\) went to the dead-letter queue since (\S+), out of retries; replay them with scripts\/replay-dlq\.ts/;

describe('events that go to the dead-letter queue show on /healthz', () => {
  it("knows wrangler.toml's max_retries: the last delivery is attempt max_retries + 1", async () => {
    // Read as text by vite (?raw); a variable specifier, so the type checker does not look for the module.
    const spec = '../../wrangler.toml?raw';
    const toml = ((await import(/* @vite-ignore */ spec)) as { default: string }).default;
    const consumer = /\[\[queues\.consumers\]\]\s*\nqueue = "rx-events"\n([\s\S]*?)(?:\n\[|$)/.exec(
      toml,
    )?.[1];
    expect(Number(/^max_retries = (\d+)$/m.exec(consumer ?? '')?.[1])).toBe(MAX_RETRIES);
    expect(isLastAttempt(MAX_RETRIES)).toBe(false);
    expect(isLastAttempt(MAX_RETRIES + 1)).toBe(true);
  });

  it('a batch retried on its last delivery: /healthz degraded with the count and what to do, also once MongoDB writes again', async () => {
    const run = runId();
    const { real, env: asking } = writerWith(`dlq-${run}`, retryAll);
    const events = storedEvents(run, 6);
    const [pack] = packEvents(events.slice(0, 3)).map((packed) => packed.body);
    // A message with retries left, a pack of 3 and a single event on their last delivery.
    const batch = batchAt(
      `dlq-${run}`,
      [events[3], pack, events[4]],
      [MAX_RETRIES, MAX_RETRIES + 1, MAX_RETRIES + 1],
    );
    const ctx = createExecutionContext();
    await handleEventBatch(batch, asking);
    expect((await getQueueResult(batch, ctx)).retryMessages).toHaveLength(3);

    const after = await seenElsewhere(asking);
    expect(after.status).toBe('degraded');
    const [, count, messages, since] = DEAD_LETTERED.exec(after.detail ?? '') ?? [];
    expect([count, messages]).toEqual(['4', '2']);

    // MongoDB is back: a batch is written, which clears the writer's failure; the dead letters still show.
    const written = await real.write({ events: events.slice(5) as StoredEvent[], rejected: [] });
    expect(written.events.map((outcome) => outcome.kind)).toEqual(['stored']);
    expect((await real.status()).failure).toBeNull();
    const back = await seenElsewhere(asking);
    expect(back.status).toBe('degraded');
    expect(back.detail).toMatch(DEAD_LETTERED);

    // More of them: counted with the first, since the first.
    const again = batchAt(`dlq-again-${run}`, [events[0]], [MAX_RETRIES + 1]);
    await handleEventBatch(again, asking);
    const more = DEAD_LETTERED.exec((await seenElsewhere(asking)).detail ?? '') ?? [];
    expect(more.slice(1)).toEqual(['5', '3', since]);
  });

  it('a batch whose call to the writer failed on its last delivery: both the dead letters and the failure show', async () => {
    const run = runId();
    const { env: asking } = writerWith(`dlq-call-${run}`, () =>
      Promise.reject(new Error('Durable Object is overloaded. Too many requests queued.')),
    );
    const batch = batchAt(`dlq-call-${run}`, storedEvents(run, 2), [MAX_RETRIES + 1, MAX_RETRIES + 1]);
    const ctx = createExecutionContext();
    await handleEventBatch(batch, asking);
    expect((await getQueueResult(batch, ctx)).retryMessages).toHaveLength(2);
    const shown = await seenElsewhere(asking);
    expect(shown.status).toBe('degraded');
    expect(shown.detail).toMatch(DEAD_LETTERED);
    expect(shown.detail).toContain(
      '; the last batch failed, none written since: Error: Durable Object is overloaded.',
    );
  });

  it('shows for 4 days after the last one (the queue’s default retention), then the count starts again', async () => {
    const run = runId();
    const { real, env: asking } = writerWith(`dlq-old-${run}`, retryAll);
    const longAgo = new Date(Date.now() - DEAD_LETTER_WINDOW_MS - 60_000).toISOString();
    await runInDurableObject(real, async (_instance: EventWriter, state) => {
      await state.storage.put('dead_letters', {
        messages: 7,
        events: 70,
        since: longAgo,
        lastAt: longAgo,
      } satisfies WriterDeadLetters);
    });
    expect(await seenElsewhere(asking)).toEqual({ status: 'ok' });

    const batch = batchAt(`dlq-old-${run}`, storedEvents(run, 1), [MAX_RETRIES + 1]);
    await handleEventBatch(batch, asking);
    const [, count, messages, since] = DEAD_LETTERED.exec((await seenElsewhere(asking)).detail ?? '') ?? [];
    expect([count, messages]).toEqual(['1', '1']);
    expect(Date.parse(since ?? '')).toBeGreaterThan(Date.parse(longAgo));
  });

  it('a replay ends it: each dead-lettered event written (stored, or found stored) is forgotten; what is left still shows', async () => {
    const run = runId();
    const { real, env: asking } = writerWith(`dlq-replay-${run}`, retryAll);
    const events = storedEvents(run, 5) as StoredEvent[];
    const [pack] = packEvents(events.slice(0, 3)).map((packed) => packed.body);
    await handleEventBatch(
      batchAt(`dlq-replay-${run}`, [pack, events[3]], [MAX_RETRIES + 1, MAX_RETRIES + 1]),
      asking,
    );
    expect(DEAD_LETTERED.exec((await seenElsewhere(asking)).detail ?? '')?.slice(1, 3)).toEqual(['4', '2']);

    // Other events written change nothing; a partial replay (the pack) leaves the single event.
    await real.write({ events: events.slice(4), rejected: [] });
    expect(DEAD_LETTERED.exec((await seenElsewhere(asking)).detail ?? '')?.slice(1, 3)).toEqual(['4', '2']);
    await real.write({ events: events.slice(0, 3), rejected: [] });
    expect(DEAD_LETTERED.exec((await seenElsewhere(asking)).detail ?? '')?.slice(1, 3)).toEqual(['1', '1']);
    // The last one stored meanwhile through another path; the replay finds it stored (a duplicate).
    const elsewhere = writerWith(`dlq-replay-elsewhere-${run}`, retryAll).real;
    expect(
      (await elsewhere.write({ events: [events[3] as StoredEvent], rejected: [] })).events[0]?.kind,
    ).toBe('stored');
    expect((await seenElsewhere(asking)).status).toBe('degraded');
    expect((await real.write({ events: [events[3] as StoredEvent], rejected: [] })).events[0]?.kind).toBe(
      'duplicate',
    );
    expect(await seenElsewhere(asking)).toEqual({ status: 'ok' });

    // A later dead letter starts a new count.
    await handleEventBatch(batchAt(`dlq-replay-again-${run}`, [events[4]], [MAX_RETRIES + 1]), asking);
    expect(DEAD_LETTERED.exec((await seenElsewhere(asking)).detail ?? '')?.slice(1, 3)).toEqual(['1', '1']);
  });

  it('a message with no valid event to wait for shows for the window, as before', async () => {
    const run = runId();
    const { env: asking } = writerWith(`dlq-untracked-${run}`, retryAll);
    await handleEventBatch(batchAt(`dlq-untracked-${run}`, [{ not: 'an event' }], [MAX_RETRIES + 1]), asking);
    expect(DEAD_LETTERED.exec((await seenElsewhere(asking)).detail ?? '')?.slice(1, 3)).toEqual(['1', '1']);
  });
});
