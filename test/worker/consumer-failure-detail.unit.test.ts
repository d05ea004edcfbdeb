/**
 * What `/healthz` (a public page) and the log say of the consumer's failures
 * (worker/src/consumer/failure-detail.ts). The paths that produce them run against the stand-in in
 * events-consumer.test.ts and events-tls.test.ts; a server message quoting a document's values cannot
 * be provoked there, so that part is checked on the texts MongoDB writes.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { handleEventBatch } from '../../worker/src/consumer';
import {
  CONNECT_HINT,
  explainConnectFailure,
  failureDetail,
  retryDetail,
  withoutValues,
} from '../../worker/src/consumer/failure-detail';
import { mongodbHealth } from '../../worker/src/consumer/health-probe';
import type { WriterStatus } from '../../worker/src/consumer/writer-status';
import type { Env } from '../../worker/src/env';
import { publicDetail, reportRecovery } from '../../worker/src/health';

/** MongoDB's message when a unique index a data team added (on `traits.email`) refuses an event. */
const DUP_EMAIL =
  'E11000 duplicate key error collection: rx.events index: traits.email_1 dup key: { traits.email: "ann@example.com" }';

/** What the worker logged (every level) while `run` ran. */
async function loggedDuring(run: () => Promise<unknown>): Promise<string[]> {
  const spies = (['error', 'warn', 'log'] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation(() => undefined),
  );
  try {
    await run();
    return spies.flatMap((spy) => spy.mock.calls.map((call) => call.join(' ')));
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** The worker's env with an `EVENT_WRITER` whose one object is `writer`; /healthz asks it every time. */
function envWithWriter(writer: object): Env {
  const namespace = { idFromName: () => ({}), get: () => writer } as unknown as Env['EVENT_WRITER'];
  return { ...(env as unknown as Env), EVENT_WRITER: namespace, HEALTH_PROBE_CACHE_SECONDS: '0' };
}

describe('consumer failure details', () => {
  it('leads a "could not connect" the driver gives no reason for with the causes to check', () => {
    const error = new Error('proxy request failed, cannot connect to the specified address');
    error.name = 'MongoServerSelectionError';
    const explained = explainConnectFailure(error) as Error;
    expect(explained.name).toBe('MongoServerSelectionError');
    expect(explained.message).toBe(
      `${CONNECT_HINT}: proxy request failed, cannot connect to the specified address`,
    );
    const specific = new Error('Authentication failed.');
    expect(explainConnectFailure(specific)).toBe(specific);
  });

  it('names the first reason of a retried batch, without the values a server message quotes', () => {
    expect(retryDetail(30, 'MongoBulkWriteError: Network connection lost.')).toBe(
      '30 event(s) will be retried: MongoBulkWriteError: Network connection lost.',
    );
    expect(retryDetail(2, 'MongoServerSelectionError: Server selection timed out after 5000 ms')).toBe(
      `2 event(s) will be retried: ${CONNECT_HINT}: MongoServerSelectionError: Server selection timed out after 5000 ms`,
    );
    const quoting =
      'MongoDB error 11000: E11000 duplicate key error collection: rx.events index: email_1 dup key: { email: "ann@example.com", extra: { id: 7 } }';
    const shown = retryDetail(1, quoting);
    expect(shown).toBe(
      '1 event(s) will be retried: MongoDB error 11000: E11000 duplicate key error collection: rx.events index: email_1 dup key: (…)',
    );
    expect(shown).not.toContain('ann@example.com');
    // Cut before its closing brace (reasons are cut at 500 characters), or a brace inside a value.
    const cut = `MongoDB error 50: dup key: { email: "ann@example.com", note: "${'x'.repeat(40)}`;
    expect(retryDetail(1, cut)).toBe('1 event(s) will be retried: MongoDB error 50: dup key: (…)');
    expect(retryDetail(1, 'MongoDB error 50: bad { email: "ann}smith@example.com" }')).toBe(
      '1 event(s) will be retried: MongoDB error 50: bad (…)',
    );
  });

  it('leaves out the document values and field names a MongoDB message quotes, on every path to /healthz', () => {
    expect(withoutValues(`MongoDB error 11000: ${DUP_EMAIL}`)).toBe(
      'MongoDB error 11000: E11000 duplicate key error collection: rx.events index: traits.email_1 dup key: (…)',
    );
    // A per-document verdict's quoted text is the document's own (a field name, a value).
    expect(
      withoutValues(
        "MongoDB error 52: The dollar ($) prefixed field '$ann@example.com' in 'properties.$ann@example.com' is not valid for storage.",
      ),
    ).toBe("MongoDB error 52: The dollar ($) prefixed field '…' in '…' is not valid for storage.");
    expect(
      withoutValues(
        'cannot be encoded as BSON: BSONError: BSON Document field names cannot contain null bytes, found: "ann@example.com\\u0000"',
      ),
    ).toBe(
      'cannot be encoded as BSON: BSONError: BSON Document field names cannot contain null bytes, found: "…"',
    );
    // A driver's own message keeps its quotes (they name an option, not a document's value).
    const parse = 'MongoParseError: Invalid scheme, expected connection string to start with "mongodb://"';
    expect(withoutValues(parse)).toBe(parse);
    // Twice is once.
    const once = withoutValues(`MongoDB error 52: bad 'x' and "y`);
    expect(withoutValues(once)).toBe(once);
    // A thrown error: its kind and message, without the values.
    const thrown = new Error(DUP_EMAIL);
    thrown.name = 'MongoServerError';
    expect(failureDetail(thrown)).toBe(
      'MongoServerError: E11000 duplicate key error collection: rx.events index: traits.email_1 dup key: (…)',
    );
  });

  it('/healthz shows no email from a dup key the writer recorded (a refusal, or a failed batch as an older version kept it)', async () => {
    const refused: WriterStatus = {
      failure: null,
      refused: {
        count: 1,
        since: new Date().toISOString(),
        lastAt: new Date().toISOString(),
        detail: `MongoDB error 11000: ${DUP_EMAIL}`,
      },
      deadLettered: null,
      redis: {},
    };
    reportRecovery('mongodb');
    const shown = await mongodbHealth(envWithWriter({ status: async () => refused }));
    expect(shown.status).toBe('degraded');
    expect(shown.detail).toMatch(/in rejected_events: MongoDB error 11000: .* dup key: \(…\)$/);
    expect(shown.detail).not.toContain('ann@example.com');

    const failed: WriterStatus = {
      failure: { at: new Date().toISOString(), detail: `MongoServerError: ${DUP_EMAIL}` },
      refused: null,
      deadLettered: null,
      redis: {},
    };
    const failure = await mongodbHealth(envWithWriter({ status: async () => failed }));
    expect(failure.detail).toMatch(
      /^the last batch failed, none written since: MongoServerError: .* dup key: \(…\)$/,
    );
    expect(failure.detail).not.toContain('ann@example.com');
  });

  it("a batch whose write threw a message quoting a document: this isolate's /healthz shows no email", async () => {
    const thrown = new Error(DUP_EMAIL);
    thrown.name = 'MongoServerError';
    const writer = {
      write: async () => {
        throw thrown;
      },
      status: async (): Promise<WriterStatus> => ({
        failure: null,
        refused: null,
        deadLettered: null,
        redis: {},
      }),
    };
    const batch = createMessageBatch('rx-events', [
      { id: 'dup-email-0', timestamp: new Date(), attempts: 1, body: { type: 'track' } },
    ]);
    const ctx = createExecutionContext();
    reportRecovery('mongodb');
    const lines = await loggedDuring(() => handleEventBatch(batch, envWithWriter(writer)));
    expect((await getQueueResult(batch, ctx)).retryMessages).toHaveLength(1);
    const shown = await mongodbHealth(envWithWriter(writer));
    expect(shown.status).toBe('degraded');
    expect(shown.detail).toMatch(/^MongoServerError: E11000 .* dup key: \(…\)$/);
    expect(shown.detail).not.toContain('ann@example.com');
    // Nor does the log: it names the kind and the index, not the shopper's address.
    const failed = lines.find((line) => line.includes('events_batch_failed'));
    expect(failed).toContain('MongoServerError');
    expect(failed).toContain('traits.email_1 dup key: (…)');
    expect(lines.join('\n')).not.toContain('ann@example.com');
    reportRecovery('mongodb');
  });

  it('a retried event whose reason quotes a document: the retry and dead-letter log lines show no email', async () => {
    const writer = {
      write: async () => ({
        events: [{ kind: 'retry', reason: `MongoDB error 11000: ${DUP_EMAIL}` }],
        rejected: [],
      }),
      noteDeadLetters: async () => undefined,
      status: async (): Promise<WriterStatus> => ({
        failure: null,
        refused: null,
        deadLettered: null,
        redis: {},
      }),
    };
    const event = {
      type: 'track',
      event: 'Product Viewed',
      messageId: 'dup-email-retry',
      anonymousId: '6b1f0c9e-3f55-4c1e-9a43-2f0e8d7c1a20',
      timestamp: '2026-11-28T10:00:00.000Z',
      receivedAt: '2026-11-28T10:00:00.000Z',
      site: 'default',
      bucket: 'treatment',
      model_version: null,
      properties: { product_id: '85123A' },
    };
    // The last delivery (wrangler.toml max_retries): retried into the dead-letter queue, which is logged too.
    const batch = createMessageBatch('rx-events', [
      { id: 'dup-email-1', timestamp: new Date(), attempts: 99, body: event },
    ]);
    reportRecovery('mongodb');
    const lines = await loggedDuring(() => handleEventBatch(batch, envWithWriter(writer)));
    expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toHaveLength(1);
    const retry = lines.find((line) => line.includes('event_retry'));
    expect(retry).toContain('traits.email_1 dup key: (…)');
    expect(lines.some((line) => line.includes('events_dead_lettered'))).toBe(true);
    expect(lines.join('\n')).not.toContain('ann@example.com');
    reportRecovery('mongodb');
  });

  it("shows no server address on /healthz: a MongoDB open to Workers' addresses is a target", () => {
    expect(
      publicDetail('MongoNetworkError: connection 3 to cluster0-shard-00-01.abcde.mongodb.net:27017 closed'),
    ).toBe('MongoNetworkError: connection 3 to <host> closed');
    expect(
      publicDetail('connect ECONNREFUSED 10.0.4.17:27017; then [2001:db8::5]:27017, localhost:27018'),
    ).toBe('connect ECONNREFUSED <host>; then <host>, <host>');
    expect(publicDetail('getaddrinfo ENOTFOUND cluster0.abcde.mongodb.net')).toBe(
      'getaddrinfo ENOTFOUND <host>',
    );
    // What is not an address stays: times, versions, counts.
    const kept = 'serving 2026-04-28.1 (store) since 10:12; 2 late answer(s) in a row; degraded at 3';
    expect(publicDetail(kept)).toBe(kept);
  });
});
