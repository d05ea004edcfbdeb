/**
 * scripts/replay-dlq.ts against a local fake of the Cloudflare Queues REST API
 * (test/support/fake-cloudflare-queues.ts): pull → publish → ack, acks only after a successful
 * publish, a failed publish leaves the DLQ untouched, undecodable bodies are never acked, publishes
 * within Queues' 256 KB batch limit, and a dry run that costs no delivery attempt (Queues deletes a
 * message pulled max_retries times without an ack).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replayDlq } from '../../scripts/replay-dlq';
import { type FakeQueues, type RecordedCall, startFakeQueues } from '../support/fake-cloudflare-queues';

let fake: FakeQueues;
const lines: string[] = [];

beforeEach(async () => {
  fake = await startFakeQueues(['rx-events', 'rx-events-dlq', 'other-queue']);
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

function replay(options: { limit?: number; dryRun?: boolean; token?: string } = {}) {
  return replayDlq({
    accountId: fake.accountId,
    apiToken: options.token ?? fake.token,
    apiBase: fake.apiBase,
    limit: options.limit,
    dryRun: options.dryRun,
    log: (line) => lines.push(line),
  });
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

  it('a failed publish acks nothing: the messages stay in the DLQ and a later run replays them once', async () => {
    const bodies = events(30);
    fake.enqueue('rx-events-dlq', bodies);
    fake.failPublishes({ count: 1 });

    await expect(replay()).rejects.toThrow(/messages\/batch: HTTP 500 \(10013 Internal error/);
    expect(fake.calls.some((c) => c.op === 'ack')).toBe(false);
    expect(fake.contents('rx-events')).toEqual([]);
    const left = fake.contents('rx-events-dlq');
    expect(left).toHaveLength(30);
    expect(left.every((m) => m.leased)).toBe(true); // back once the 5-minute lease runs out

    // A new fake state with the same leftovers stands in for "after the lease expired".
    const leftovers = left.map((m) => m.body);
    await fake.close();
    fake = await startFakeQueues(['rx-events', 'rx-events-dlq']);
    fake.enqueue('rx-events-dlq', leftovers);
    expect(await replay()).toEqual({ replayed: 30, skipped: 0 });
    expect(fake.contents('rx-events').map((m) => m.body)).toEqual(bodies);
  });

  it('a publish failing on the second batch keeps the first batch replayed and the second in the DLQ', async () => {
    const bodies = events(150);
    const ids = fake.enqueue('rx-events-dlq', bodies);
    const originals = new Map(ids.map((id, i) => [id, bodies[i]]));
    fake.failPublishes({ after: 1, count: 1 });
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
    fake.failPublishes({ after: 1, count: 1 });
    await expect(replay()).rejects.toThrow(/HTTP 500/);
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
});
