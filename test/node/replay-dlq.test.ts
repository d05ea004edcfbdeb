/**
 * scripts/replay-dlq.ts against a local fake of the Cloudflare Queues REST API
 * (test/support/fake-cloudflare-queues.ts): pull → publish → ack, acks only after a successful
 * publish, a failed publish leaves the DLQ untouched, undecodable bodies are never acked, publishes
 * within Queues' 256 KB batch limit, and a dry run that costs no delivery attempt (Queues deletes a
 * message pulled max_retries times without an ack). Rate limits (429 + Retry-After), 5xx and dropped
 * connections are waited out within --max-wait and the lease of the batch in hand, on a fake clock
 * shared by the script and the fake API (its sleeps are recorded, never slept).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../scripts/cloudflare-queues-api';
import { LEASE_MS, ReplayStopped, replayDlq } from '../../scripts/replay-dlq';
import { type FakeQueues, type RecordedCall, startFakeQueues } from '../support/fake-cloudflare-queues';

/** A clock whose sleeps only move it: a 5-minute Retry-After costs the test nothing. */
function fakeClock() {
  const clock = {
    at: Date.UTC(2026, 0, 5, 12, 0, 0),
    sleeps: [] as number[],
    now: () => clock.at,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.at += ms;
    },
    random: () => 0.5,
  };
  return clock;
}

let clock: ReturnType<typeof fakeClock>;
let fake: FakeQueues;
const lines: string[] = [];

function startFake(names = ['rx-events', 'rx-events-dlq', 'other-queue']) {
  return startFakeQueues(names, { now: clock.now });
}

beforeEach(async () => {
  clock = fakeClock();
  fake = await startFake();
  lines.length = 0;
});

afterEach(async () => {
  await fake.close();
});

/** Stored events as the producer queued them (the DLQ holds the same bodies). */
function events(count: number, prefix = 'ev') {
  return Array.from({ length: count }, (_, i) => ({
    type: 'track',
    event: 'Product Viewed',
    messageId: `${prefix}-${i}`,
    anonymousId: `anon-${i % 7}`,
    timestamp: '2024-05-01T12:00:00.000Z',
    receivedAt: '2024-05-01T12:00:01.000Z',
    site: 'demo',
    bucket: 'treatment',
    model_version: null,
    properties: { product_id: `P${i}`, note: 'ünïcødé & <b>' },
  }));
}

/** Queue messages as the producer packs them (worker/src/events/event-pack.ts): `count` packs of `size` events. */
function packs(count: number, size: number) {
  return Array.from({ length: count }, (_, p) => ({
    kind: 'rx.events.v1',
    events: events(size, `pack${p}`),
  }));
}

function replay(options: { limit?: number; dryRun?: boolean; token?: string; maxWaitMs?: number } = {}) {
  return replayDlq({
    accountId: fake.accountId,
    apiToken: options.token ?? fake.token,
    apiBase: fake.apiBase,
    limit: options.limit,
    dryRun: options.dryRun,
    maxWaitMs: options.maxWaitMs,
    clock,
    log: (line) => lines.push(line),
  });
}

/** The error a replay stopped with (it must stop). */
async function stopped(run: Promise<unknown>): Promise<ReplayStopped> {
  const error = await run.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ReplayStopped);
  return error as ReplayStopped;
}

/** Every ack names only messages whose bodies a successful publish (earlier in the log) carried. */
function expectAcksAfterPublishes(calls: readonly RecordedCall[], originals: Map<string, unknown>) {
  const republished: string[] = [];
  for (const call of calls) {
    if (call.op === 'publish' && call.status === 200)
      for (const body of call.bodies ?? []) republished.push(JSON.stringify(body));
    if (call.op === 'ack') {
      for (const id of call.ids ?? []) expect(republished).toContain(JSON.stringify(originals.get(id)));
    }
  }
}

describe('replay-dlq against the Queues HTTP API', () => {
  it('moves every DLQ message back to rx-events with its body intact, in batches of 100, acking after each publish', async () => {
    const bodies = events(250);
    const ids = fake.enqueue('rx-events-dlq', bodies);
    const originals = new Map(ids.map((id, i) => [id, bodies[i]]));

    const result = await replay();

    expect(result).toEqual({ replayed: 250, skipped: 0 });
    expect(fake.contents('rx-events-dlq')).toEqual([]);
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
    expect(fake.contents('other-queue')).toEqual([]);
    const ops = fake.calls
      .filter((c) => c.op !== 'list')
      .map((c) => `${c.op}:${c.ids?.length ?? c.bodies?.length}`);
    expect(ops).toEqual([
      'pull:100',
      'publish:100',
      'ack:100',
      'pull:100',
      'publish:100',
      'ack:100',
      'pull:50',
      'publish:50',
      'ack:50',
      'pull:0',
    ]);
    expectAcksAfterPublishes(fake.calls, originals);
  });

  it('a publish that keeps failing acks nothing: the messages stay in the DLQ and a later run replays them once', async () => {
    const bodies = events(30);
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('publish', { count: Number.POSITIVE_INFINITY });

    const error = await stopped(replay());
    expect(error.message).toMatch(/messages\/batch: HTTP 500 \(10013 Internal error/);
    expect(error.message).toMatch(/^Replay stopped after 0 message\(s\) were replayed into rx-events: /);
    expect(fake.calls.some((c) => c.op === 'ack')).toBe(false);
    expect(fake.contents('rx-events')).toEqual([]);
    const left = fake.contents('rx-events-dlq');
    expect(left).toHaveLength(30);
    expect(left.every((m) => m.leased)).toBe(true); // back once the lease runs out

    // A new fake state with the same leftovers stands in for "after the lease expired".
    const leftovers = left.map((m) => m.body);
    await fake.close();
    fake = await startFake(['rx-events', 'rx-events-dlq']);
    fake.enqueue('rx-events-dlq', leftovers);
    expect(await replay()).toEqual({ replayed: 30, skipped: 0 });
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
  });

  it('a publish failing on the second batch keeps the first batch replayed and the second in the DLQ', async () => {
    const bodies = events(150);
    const ids = fake.enqueue('rx-events-dlq', bodies);
    const originals = new Map(ids.map((id, i) => [id, bodies[i]]));
    fake.fail('publish', { after: 1, count: Number.POSITIVE_INFINITY });
    await expect(replay()).rejects.toThrow(/HTTP 500/);

    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies.slice(0, 100));
    expect(fake.contents('rx-events-dlq').map((m) => m.body)).toEqual(bodies.slice(100));
    expectAcksAfterPublishes(fake.calls, originals);
  });

  it('--dry-run peeks at one batch: nothing leased, published or acked, and no delivery attempt spent', async () => {
    const bodies = events(120);
    fake.enqueue('rx-events-dlq', bodies);
    // Three dry runs, each followed by the time a lease would last: a pull would have used up the DLQ
    // consumer's three deliveries (Cloudflare's default max_retries), and Queues would delete them.
    for (let run = 0; run < 3; run++) {
      expect(await replay({ dryRun: true })).toEqual({ replayed: 100, skipped: 0 });
      fake.expireLeases();
    }
    const left = fake.contents('rx-events-dlq');
    expect(left).toHaveLength(120);
    expect(left.some((m) => m.leased)).toBe(false); // a replay right after finds every message
    expect(fake.calls.filter((c) => c.op !== 'list').map((c) => c.op)).toEqual(['peek', 'peek', 'peek']);
    expect(lines[0]).toMatch(/^would replay [0-9a-f]+ \(attempts 0, \d+ bytes\)$/);

    expect(await replay()).toEqual({ replayed: 120, skipped: 0 });
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
  });

  it('a DLQ of full packs is republished in publishes within the 256 KB batch limit, each part acked once published', async () => {
    // 100 packs of 40 events (~14 KB each): one publish of the pulled batch (~1.4 MB) is refused by
    // Queues (10205 BatchSizeOutOfBounds), on every run.
    const bodies = packs(100, 40);
    const ids = fake.enqueue('rx-events-dlq', bodies);
    const originals = new Map(ids.map((id, i) => [id, bodies[i]]));

    expect(await replay()).toEqual({ replayed: 100, skipped: 0 });
    expect(fake.contents('rx-events-dlq')).toEqual([]);
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
    const publishes = fake.calls.filter((c) => c.op === 'publish');
    expect(publishes.length).toBeGreaterThan(1);
    for (const publish of publishes) {
      expect(publish.status).toBe(200);
      expect(publish.bytes).toBeLessThanOrEqual(256_000);
    }
    // Each publish is followed by the ack of exactly its messages.
    const ops = fake.calls.filter((c) => c.op === 'publish' || c.op === 'ack');
    for (let i = 0; i < ops.length; i += 2) {
      expect([ops[i]?.op, ops[i + 1]?.op]).toEqual(['publish', 'ack']);
      expect(ops[i + 1]?.ids).toHaveLength(ops[i]?.bodies?.length ?? -1);
    }
    expectAcksAfterPublishes(fake.calls, originals);
  });

  it('a publish failing on a later part of a batch keeps the parts before it replayed and acked: a rerun sends each message once', async () => {
    const bodies = packs(60, 40);
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('publish', { after: 1, count: Number.POSITIVE_INFINITY });
    await expect(replay()).rejects.toThrow(/HTTP 500/);
    fake.fail('publish', { count: 0 });
    const first = fake.contents('rx-events').map((m) => m.body);
    expect(first.length).toBeGreaterThan(0);
    expect(first).toEqual(bodies.slice(0, first.length));
    expect(fake.contents('rx-events-dlq')).toHaveLength(bodies.length - first.length);

    fake.expireLeases(); // the failed run's leases run out: one delivery attempt spent, two left
    expect(await replay()).toEqual({ replayed: bodies.length - first.length, skipped: 0 });
    const all = fake.contents('rx-events').map((m) => m.body);
    expect(all).toHaveLength(bodies.length); // nothing published twice
    expect(new Set(all.map((body) => JSON.stringify(body)))).toEqual(
      new Set(bodies.map((body) => JSON.stringify(body))),
    );
    expect(fake.contents('rx-events-dlq')).toEqual([]);
  });

  it('--limit stops after that many messages', async () => {
    fake.enqueue('rx-events-dlq', events(40));
    expect(await replay({ limit: 25 })).toEqual({ replayed: 25, skipped: 0 });
    expect(fake.contents('rx-events')).toHaveLength(25);
    expect(fake.contents('rx-events-dlq')).toHaveLength(15);
  });

  it('text bodies are republished as text; a v8 body cannot be decoded and stays in the DLQ unacked', async () => {
    fake.enqueue('rx-events-dlq', events(3));
    fake.enqueue('rx-events-dlq', ['plain text body'], 'text');
    const [v8Id] = fake.enqueue('rx-events-dlq', [{}], 'v8');

    expect(await replay()).toEqual({ replayed: 4, skipped: 1 });
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual([...events(3), 'plain text body']);
    expect(fake.contents('rx-events-dlq').map((m) => m.id)).toEqual([v8Id]);
    expect(lines).toContain(`left in the DLQ: ${v8Id}: content type "v8" cannot be republished over HTTP`);
  });

  it('a wrong token or a missing queue fails with a clear message and touches nothing', async () => {
    fake.enqueue('rx-events-dlq', events(5));
    await expect(replay({ token: 'wrong' })).rejects.toThrow(
      'Cloudflare API GET /queues: HTTP 401 (10000 Authentication error)',
    );
    await expect(
      replayDlq({ accountId: fake.accountId, apiToken: fake.token, apiBase: fake.apiBase, from: 'nope' }),
    ).rejects.toThrow('No queue named "nope" in this account');
    expect(fake.contents('rx-events-dlq')).toHaveLength(5);
  });

  it('--from and --to naming one queue is refused up front: it would pull and publish the same messages for ever', async () => {
    fake.enqueue('rx-events-dlq', events(5));
    await expect(
      replayDlq({
        accountId: fake.accountId,
        apiToken: fake.token,
        apiBase: fake.apiBase,
        from: 'rx-events-dlq',
        to: 'rx-events-dlq',
        limit: 10,
      }),
    ).rejects.toThrow('--from and --to both name rx-events-dlq: replay moves messages to another queue');
    expect(fake.contents('rx-events-dlq')).toHaveLength(5);
  });
});

describe('replay-dlq when the API rate-limits or fails for a moment', () => {
  /** The bodies in a queue, each as JSON, sorted: for "each exactly once" comparisons. */
  const sortedJson = (bodies: readonly unknown[]) => bodies.map((body) => JSON.stringify(body)).sort();

  it('a publish answered 429 waits exactly its Retry-After, tries again, and the replay completes with every message once', async () => {
    const bodies = events(250);
    const ids = fake.enqueue('rx-events-dlq', bodies);
    const originals = new Map(ids.map((id, i) => [id, bodies[i]]));
    fake.fail('publish', { after: 1, count: 2, status: 429, retryAfter: '7' });

    expect(await replay()).toEqual({ replayed: 250, skipped: 0 });
    expect(clock.sleeps).toEqual([7_000, 7_000]);
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies); // each once, in order
    expect(fake.contents('rx-events-dlq')).toEqual([]);
    expect(fake.calls.filter((c) => c.status === 429).map((c) => c.op)).toEqual(['publish', 'publish']);
    expectAcksAfterPublishes(fake.calls, originals);
    expect(lines.find((line) => line.includes('HTTP 429'))).toMatch(
      /messages\/batch: HTTP 429 \(971 Please wait and consider throttling your request speed\); trying again in 7 s \(Retry-After, try 2\)$/,
    );
  });

  it('a 429 on a pull (Retry-After as an HTTP date) and on an ack are waited out: nothing lost or doubled', async () => {
    const bodies = events(150);
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('pull', { count: 1, status: 429, retryAfter: new Date(clock.at + 42_000).toUTCString() });
    fake.fail('ack', { after: 1, count: 1, status: 429, retryAfter: '3' });

    expect(await replay()).toEqual({ replayed: 150, skipped: 0 });
    expect(clock.sleeps).toEqual([42_000, 3_000]);
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
    expect(fake.contents('rx-events-dlq')).toEqual([]);
  });

  it('without Retry-After, 5xx and dropped connections back off exponentially with jitter', async () => {
    const bodies = events(20);
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('pull', { count: 3, status: 503 });
    fake.fail('ack', { count: 1, status: 'drop' });

    const started = clock.at;
    // The pulls that failed with 503 may have leased messages (here they did not): the result says
    // until when such messages would stay hidden, a lease after the pull that was answered.
    expect(await replay()).toEqual({ replayed: 20, skipped: 0, hiddenUntil: started + 5_250 + LEASE_MS });
    // 1 s doubling, each wait between half and all of its step (the fake's jitter draws 0.5: ¾).
    expect(clock.sleeps).toEqual([750, 1_500, 3_000, 750]);
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
    expect(fake.contents('rx-events-dlq')).toEqual([]);
    expect(fake.calls.filter((c) => c.op === 'ack').map((c) => c.status)).toEqual([0, 200]);
  });

  it('a pull that leased messages but lost its answer says until when they stay hidden; a re-run after that replays them once', async () => {
    const bodies = events(30);
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('pull', { count: 1, status: 500, applied: true });

    const first = await replay();
    // The retried pull finds nothing visible: all 30 are leased by the attempt whose answer was lost.
    expect(first).toEqual({ replayed: 0, skipped: 0, hiddenUntil: clock.at + LEASE_MS });
    expect(fake.contents('rx-events')).toEqual([]);
    expect(fake.contents('rx-events-dlq')).toHaveLength(30);

    fake.expireLeases();
    expect(await replay()).toEqual({ replayed: 30, skipped: 0 });
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
    expect(fake.contents('rx-events-dlq')).toEqual([]);
  });

  it('a run that stops after a pull lost its answer says that the messages that pull leased stay hidden too', async () => {
    const bodies = events(250);
    fake.enqueue('rx-events-dlq', bodies);
    // The first pull leases 100 messages and its answer is lost; the retried pull gets the next 100,
    // whose publish is refused for good.
    fake.fail('pull', { count: 1, status: 500, applied: true });
    fake.fail('publish', { count: 1, status: 400 });

    const error = await stopped(replay());
    expect(error.result.replayed).toBe(0);
    expect(error.result.hiddenUntil).toBeDefined();
    expect(error.message).toContain(
      'A pull was tried again after an answer was lost: messages it may have leased stay hidden in ' +
        `rx-events-dlq until about ${new Date(error.result.hiddenUntil ?? 0).toISOString()}; run again after that to replay them.`,
    );
  });

  it('a publish that was applied but answered 500 is published again: those messages twice in rx-events (the consumer stores each event once), none lost, none left in the DLQ', async () => {
    const bodies = packs(30, 40); // ~14 KB each: several publishes per pulled batch
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('publish', { after: 1, count: 1, status: 500, applied: true });

    expect(await replay()).toEqual({ replayed: 30, skipped: 0 });
    const publishes = fake.calls.filter((c) => c.op === 'publish');
    const doubled = publishes.find((c) => c.applied)?.bodies ?? [];
    expect(doubled.length).toBeGreaterThan(0);
    // Exactly the messages of the failed publish are there twice; every other one once.
    expect(sortedJson(fake.contents('rx-events').map((m) => m.body))).toEqual(
      sortedJson([...bodies, ...doubled]),
    );
    expect(fake.contents('rx-events-dlq')).toEqual([]);
  });

  it('a 429 that persists stops the run within --max-wait, saying how many were replayed and that a re-run continues; the re-run replays the rest once', async () => {
    const bodies = events(250);
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('publish', { after: 1, count: Number.POSITIVE_INFINITY, status: 429, retryAfter: '300' });

    const error = await stopped(replay({ maxWaitMs: 600_000 }));
    expect(clock.sleeps).toEqual([300_000, 300_000]); // a third wait would pass the 600 s
    expect(error.result).toEqual({ replayed: 100, skipped: 0 });
    expect(error.message.replace(/\/queues\/[0-9a-f]+\//, '/queues/<id>/')).toBe(
      [
        'Replay stopped after 100 message(s) were replayed into rx-events: Cloudflare API POST ' +
          '/queues/<id>/messages/batch: HTTP 429 (971 Please wait and consider throttling ' +
          'your request speed); gave up: waiting 300 s more would make 900 s, past the 600 s this run may ' +
          'wait in all (--max-wait).',
        'The rest stay in rx-events-dlq; run the command again to continue.',
        '100 message(s) pulled in this run and not acked are hidden until their lease ends ' +
          `(about ${new Date(Date.UTC(2026, 0, 5, 12, 0, 0) + LEASE_MS).toISOString()}); a run before then does not see them.`,
      ].join('\n'),
    );
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies.slice(0, 100));
    expect(fake.contents('rx-events-dlq')).toHaveLength(150);

    fake.fail('publish', { count: 0 });
    clock.at += LEASE_MS; // the stopped run's leases end
    expect(await replay()).toEqual({ replayed: 150, skipped: 0 });
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
    expect(fake.contents('rx-events-dlq')).toEqual([]);
  });

  it('a wait that would outlast the lease of the pulled batch is not started: the run stops while it holds the messages, and they come back', async () => {
    const bodies = events(150);
    fake.enqueue('rx-events-dlq', bodies);
    const publishRetryAfter = String(LEASE_MS / 1000); // a whole lease, well within a 1-hour --max-wait
    fake.fail('publish', { after: 1, count: 1, status: 429, retryAfter: publishRetryAfter });

    const error = await stopped(replay({ maxWaitMs: 3_600_000 }));
    expect(clock.sleeps).toEqual([]);
    expect(error.message).toContain(
      `gave up: waiting ${LEASE_MS / 1000} s would outlast the lease of the messages pulled for it.`,
    );
    expect(error.result.replayed).toBe(100);
    const left = fake.contents('rx-events-dlq');
    expect(left).toHaveLength(50);
    expect(left.every((m) => m.leased)).toBe(true); // stopped before their lease ended

    clock.at += LEASE_MS;
    expect(await replay()).toEqual({ replayed: 50, skipped: 0 });
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
  });

  it('an ack that keeps failing stops the run and says its part was published: the re-run publishes it again, nothing else twice', async () => {
    const bodies = events(40);
    fake.enqueue('rx-events-dlq', bodies);
    fake.fail('ack', { count: Number.POSITIVE_INFINITY, status: 503, retryAfter: '60' });

    const error = await stopped(replay({ maxWaitMs: 120_000 }));
    expect(clock.sleeps).toEqual([60_000, 60_000]);
    expect(error.result).toEqual({ replayed: 0, skipped: 0 });
    expect(error.message).toContain(
      '40 of them were published and not acked: the next run publishes them again (the consumer stores each event once, by messageId).',
    );

    fake.fail('ack', { count: 0 });
    clock.at += LEASE_MS;
    expect(await replay()).toEqual({ replayed: 40, skipped: 0 });
    expect(sortedJson(fake.contents('rx-events').map((m) => m.body))).toEqual(
      sortedJson([...bodies, ...bodies]),
    );
    expect(fake.contents('rx-events-dlq')).toEqual([]);
  });

  it('a Retry-After longer than --max-wait allows stops at once, and Retry-After: 0 forever stops after 20 tries', async () => {
    fake.enqueue('rx-events-dlq', events(5));
    fake.fail('pull', { count: 1, status: 429, retryAfter: '3600' });
    await expect(replay()).rejects.toThrow(/gave up: waiting 3600 s more would make 3600 s, past the 900 s/);
    expect(clock.sleeps).toEqual([]);

    fake.fail('pull', { count: Number.POSITIVE_INFINITY, status: 429, retryAfter: '0' });
    await expect(replay()).rejects.toThrow(/messages\/pull: HTTP 429 .*; gave up: tried 20 times/);
    expect(fake.calls.filter((c) => c.op === 'pull' && c.status === 429)).toHaveLength(1 + 20);
    expect(fake.contents('rx-events-dlq')).toHaveLength(5);
  });

  it("a replay past Cloudflare's per-user limit (fewer requests allowed here) waits out the block and completes, each message once", async () => {
    // 100 packs of ~14 KB: two queue lookups and about seven publishes; pulls and acks are not counted.
    const bodies = packs(100, 40);
    fake.enqueue('rx-events-dlq', bodies);
    fake.rateLimit({ requests: 5, windowMs: 300_000 });

    expect(await replay()).toEqual({ replayed: 100, skipped: 0 });
    expect(clock.sleeps).toEqual([300_000]); // Retry-After: the rest of the window, from the first call
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
    expect(fake.contents('rx-events-dlq')).toEqual([]);
    expect(fake.calls.filter((c) => c.status === 429).map((c) => c.op)).toEqual(['publish']);
  });

  it('slow answers alone that use up the lease stop the run before it publishes more of the batch', async () => {
    const bodies = packs(100, 40); // about seven publishes, each followed by its ack
    fake.enqueue('rx-events-dlq', bodies);
    const now = clock.now;
    clock.now = () => {
      clock.at += 100_000; // every look the script takes at the clock finds 100 s gone
      return now();
    };

    const error = await stopped(replay());
    expect(clock.sleeps).toEqual([]);
    expect(error.message).toMatch(
      /too little is left of the batch's lease \(ends 2026-01-05T12:\d\d:\d\d\.000Z\) to publish more of it/,
    );
    expect(error.result.replayed).toBeGreaterThan(0);
    expect(error.result.replayed).toBeLessThan(100);
    const replayed = fake.contents('rx-events').map((m) => m.body);
    expect(replayed).toEqual(bodies.slice(0, error.result.replayed));
    expect(fake.contents('rx-events-dlq')).toHaveLength(100 - replayed.length);
  });

  it('the command prints the stop message on stderr and exits 1; --max-wait 0 gives up on the first wait', async () => {
    fake.enqueue('rx-events-dlq', events(5));
    fake.fail('pull', { count: Number.POSITIVE_INFINITY, status: 429, retryAfter: '5' });
    const run = (args: string[]) =>
      promisify(execFile)(
        path.resolve('node_modules/.bin/tsx'),
        [path.resolve('scripts/replay-dlq.ts'), ...args],
        {
          env: {
            ...process.env,
            CLOUDFLARE_ACCOUNT_ID: fake.accountId,
            CLOUDFLARE_API_TOKEN: fake.token,
            CLOUDFLARE_API_BASE: fake.apiBase,
          },
        },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );

    const stop = await run(['--max-wait', '0']);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(
      /^Replay stopped after 0 message\(s\) were replayed into rx-events: Cloudflare API POST \/queues\/[0-9a-f]+\/messages\/pull: HTTP 429 \(971 Please wait and consider throttling your request speed\); gave up: waiting 5 s more would make 5 s, past the 0 s this run may wait in all \(--max-wait\)\.\nThe rest stay in rx-events-dlq; run the command again to continue\.\n$/,
    );
    expect(await run(['--max-wait', 'soon'])).toEqual({
      code: 1,
      stderr: '--max-wait must be a whole number of seconds, 0 or more\n',
    });
    expect(fake.contents('rx-events-dlq')).toHaveLength(5);
    // --help prints the usage and touches nothing (it was an "Unknown option" error).
    const help = await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), [
      path.resolve('scripts/replay-dlq.ts'),
      '--help',
    ]);
    expect(help.stdout).toMatch(/^usage: .*scripts\/replay-dlq\.ts \[options\]\n/);
    expect(help.stdout).toContain('--dry-run');
    expect(fake.contents('rx-events-dlq')).toHaveLength(5);
  }, 30_000);

  it('a token with a line break is refused up front, by name, never printed and never retried', async () => {
    fake.enqueue('rx-events-dlq', events(3));
    const secret = 'cf-secret-part';
    const token = `${secret}\nsecond-line`;
    const failure = await promisify(execFile)(
      path.resolve('node_modules/.bin/tsx'),
      [path.resolve('scripts/replay-dlq.ts'), '--max-wait', '3'],
      {
        env: {
          ...process.env,
          CLOUDFLARE_ACCOUNT_ID: fake.accountId,
          CLOUDFLARE_API_TOKEN: token,
          CLOUDFLARE_API_BASE: fake.apiBase,
        },
        timeout: 20_000,
      },
    ).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(`${failure?.stdout}${failure?.stderr}`).not.toContain(secret);
    expect(`${failure?.stdout}${failure?.stderr}`).not.toContain('second-line');
    expect(failure?.stderr).not.toContain('trying again');
    expect(failure?.stderr).toContain('CLOUDFLARE_API_TOKEN contains a line break');
    expect(fake.contents('rx-events-dlq')).toHaveLength(3);
    // Used as a library, the client refuses it too, before any request.
    await expect(replay({ token })).rejects.toThrow(/^CLOUDFLARE_API_TOKEN contains a line break/);
    expect(clock.sleeps).toEqual([]);
  }, 30_000);

  it('reads Retry-After as seconds or an HTTP date, and ignores what is neither', () => {
    const now = Date.UTC(2026, 0, 5, 12, 0, 0);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Mon, 05 Jan 2026 12:01:30 GMT', now)).toBe(90_000);
    expect(retryAfterMs('Mon, 05 Jan 2026 11:00:00 GMT', now)).toBe(0); // already past
    expect(retryAfterMs('1.5', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
