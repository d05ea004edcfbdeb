/**
 * A local stand-in for the Cloudflare Queues REST API, on a free loopback port, implementing what
 * scripts/replay-dlq.ts uses, as documented (developers.cloudflare.com/api/resources/queues and
 * /queues/configuration/pull-consumers):
 *
 * - `GET  /client/v4/accounts/{account}/queues` → `result: [{ queue_id, queue_name }]`
 * - `POST .../queues/{id}/messages/pull` `{ batch_size (default 5, max 100), visibility_timeout_ms }`
 *   → `result: { message_backlog_count, messages: [{ id, body, attempts, lease_id, timestamp_ms, metadata }] }`;
 *   pulled messages are leased (invisible) until the timeout; `json` bodies come base64-encoded
 * - `POST .../queues/{id}/messages/peek` `{ batch_size }` → `result: { messages: [{ id, body, attempts,
 *   ref, timestamp_ms, metadata }] }`; neither leases nor counts as an attempt
 * - `POST .../queues/{id}/messages/ack` `{ acks: [{ lease_id }], retries: [{ lease_id, delay_seconds }] }`
 *   → `result: { ackCount, retryCount, warnings }`; acked messages are deleted
 * - `POST .../queues/{id}/messages/batch` `{ messages: [{ body, content_type }] }` → publishes, within
 *   Queues' limits (reference/error-codes): 1-100 messages (10206), 128 KB per message (10204) and
 *   256 KB per batch (10205), each message counting its body's bytes + ~100 bytes of metadata
 *   (platform/limits)
 *
 * The pull consumer's `max_retries` (`maxRetries`, Cloudflare's default 3): a message whose lease ends
 * (timeout or retry) without an ack once its `attempts` reached it is deleted, as the pull-consumers page
 * says ("will not be re-delivered and will be deleted from the queue permanently").
 *
 * Every answer is the API envelope `{ success, errors, messages, result }`; a wrong bearer token is a 401.
 * `fail(op, { count, after, status, retryAfter, applied })` makes calls answer an error (a 429 with
 * `Retry-After`, a 5xx, or a dropped connection), optionally after doing what was asked (a publish
 * applied whose answer was lost); `rateLimit({ requests, windowMs })` answers 429 (code 971, with
 * `Retry-After` in whole seconds, rounded up) to every call past `requests` until the window ends, as
 * the API's per-user limit does (fundamentals/api/reference/limits), counting only what it counts: not
 * pulls and acks (queues/platform/limits). `expireLeases()` stands in for the visibility timeout
 * passing; `now` (option) is the clock of leases and limits, so a test's fake clock moves them. Each
 * call is recorded in `calls`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ContentType = 'json' | 'text' | 'v8';

interface StoredMessage {
  id: string;
  /** As the pull endpoint returns it: base64 for json, the text for text. */
  encodedBody: string;
  contentType: ContentType;
  attempts: number;
  timestampMs: number;
  lease?: { id: string; until: number };
  /** Every lease id it was pulled with: Queues accepts an ack by an expired lease too (pull-consumers). */
  leaseIds: string[];
}

export type Op = 'list' | 'pull' | 'peek' | 'ack' | 'publish';

/** One API call as the fake saw it. */
export interface RecordedCall {
  op: Op;
  queue?: string;
  /** pull/peek: message ids handed out; ack: message ids deleted; publish: decoded bodies. */
  ids?: string[];
  bodies?: unknown[];
  /** publish: the batch's size as Queues counts it (bodies + metadata). */
  bytes?: number;
  /** The answer's status; 0 for a dropped connection. */
  status: number;
  /** The call was carried out, though its answer says otherwise (`fail(..., { applied: true })`). */
  applied?: boolean;
}

export interface Failure {
  /** How many calls fail (Infinity: all from then on). */
  count: number;
  /** After this many calls of the op that did not fail (default 0). */
  after?: number;
  /** The HTTP status answered (default 500), or `drop`: the connection closes without an answer. */
  status?: number | 'drop';
  /** The `Retry-After` header to send, as is. */
  retryAfter?: string;
  /** Carry the call out, then answer the failure (a 5xx after the work, or an answer lost on the way). */
  applied?: boolean;
}

export interface FakeQueues {
  /** Base URL to use as `CLOUDFLARE_API_BASE` / `apiBase`. */
  apiBase: string;
  accountId: string;
  token: string;
  calls: RecordedCall[];
  /** Adds messages to a queue as a producer would (creating the queue). Returns their ids. */
  enqueue(queue: string, bodies: unknown[], contentType?: ContentType): string[];
  /** All messages of a queue, leased or not, with decoded bodies (json parsed). */
  contents(queue: string): Array<{ id: string; body: unknown; leased: boolean }>;
  /** The `count` calls of `op` after the next `after` (default 0) successful ones fail as described. */
  fail(op: Op, failure: Failure): void;
  /** At most `requests` counted calls (not pulls and acks) per `windowMs`; past it, 429 until it ends. */
  rateLimit(options: { requests: number; windowMs: number }): void;
  /** Ends every lease now, as their visibility timeout would (messages at max_retries are deleted). */
  expireLeases(): void;
  close(): Promise<void>;
}

function encode(body: unknown, contentType: ContentType): string {
  if (contentType === 'text') return String(body);
  if (contentType === 'json') return Buffer.from(JSON.stringify(body), 'utf8').toString('base64');
  return randomBytes(24).toString('base64'); // opaque V8 serialization
}

/** Queues' publish limits (reference/error-codes, platform/limits; 1 KB = 1000 bytes). */
const MAX_MESSAGE_BYTES = 128_000;
const MAX_BATCH_BYTES = 256_000;
const METADATA_BYTES = 100;

/** A published message's size as Queues counts it: the body's JSON (or text) bytes + metadata. */
function publishedBytes(message: { body?: unknown; content_type?: ContentType }): number {
  const text = message.content_type === 'text' ? String(message.body) : JSON.stringify(message.body);
  return Buffer.byteLength(text ?? '', 'utf8') + METADATA_BYTES;
}

function decode(message: StoredMessage): unknown {
  if (message.contentType === 'json')
    return JSON.parse(Buffer.from(message.encodedBody, 'base64').toString('utf8'));
  return message.encodedBody;
}

export async function startFakeQueues(
  queueNames: readonly string[],
  options: { maxRetries?: number; now?: () => number } = {},
): Promise<FakeQueues> {
  const maxRetries = options.maxRetries ?? 3;
  const clock = options.now ?? (() => Date.now());
  const accountId = randomBytes(16).toString('hex');
  const token = randomBytes(20).toString('base64url');
  const queues = new Map<string, { id: string; messages: StoredMessage[] }>();
  const ensure = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = { id: randomBytes(16).toString('hex'), messages: [] };
      queues.set(name, queue);
    }
    return queue;
  };
  for (const name of queueNames) ensure(name);
  const byId = (id: string) => [...queues.entries()].find(([, queue]) => queue.id === id);
  const calls: RecordedCall[] = [];
  const failures = new Map<Op, Required<Pick<Failure, 'count' | 'after'>> & Failure>();
  /** The failure this call of `op` answers, if one is due (and counts it). */
  const dueFailure = (op: Op): Failure | undefined => {
    const failure = failures.get(op);
    if (!failure || failure.count <= 0) return undefined;
    if (failure.after > 0) {
      failure.after--;
      return undefined;
    }
    failure.count--;
    return failure;
  };
  let limit: { requests: number; windowMs: number; windowStart: number; used: number } | undefined;
  /** Seconds until the rate limit lets this call through, or 0 when it does (and counts it). */
  const rateLimited = (op: Op, now: number): number => {
    if (!limit || op === 'pull' || op === 'ack') return 0;
    if (now >= limit.windowStart + limit.windowMs) {
      limit.windowStart = now;
      limit.used = 0;
    }
    if (limit.used >= limit.requests) return Math.ceil((limit.windowStart + limit.windowMs - now) / 1000);
    limit.used++;
    return 0;
  };
  /** Ends the leases past their time; a message already at max_retries is then deleted. */
  const settleLeases = (now: number) => {
    for (const queue of queues.values()) {
      queue.messages = queue.messages.filter((m) => {
        if (!m.lease || m.lease.until > now) return true;
        m.lease = undefined;
        return m.attempts < maxRetries;
      });
    }
  };

  type Answer = { status: number; result: unknown; errors?: Array<{ code: number; message: string }> };

  /** Carries out one call on a queue, records it, and returns its answer (which `fail` may replace). */
  const perform = (
    op: Exclude<Op, 'list'>,
    name: string,
    queue: { id: string; messages: StoredMessage[] },
    body: Record<string, unknown>,
    now: number,
  ): Answer => {
    if (op === 'pull') {
      const batchSize = Math.min(100, Math.max(1, Number(body.batch_size ?? 5)));
      const timeout = Number(body.visibility_timeout_ms ?? 30_000);
      const visible = queue.messages.filter((m) => !m.lease || m.lease.until <= now).slice(0, batchSize);
      for (const message of visible) {
        message.attempts++;
        message.lease = { id: randomUUID(), until: now + timeout };
        message.leaseIds.push(message.lease.id);
      }
      calls.push({ op: 'pull', queue: name, ids: visible.map((m) => m.id), status: 200 });
      return {
        status: 200,
        result: {
          message_backlog_count: queue.messages.length,
          messages: visible.map((m) => ({
            id: m.id,
            body: m.encodedBody,
            attempts: m.attempts,
            lease_id: m.lease?.id,
            timestamp_ms: m.timestampMs,
            metadata: { 'CF-sourceMessageSource': 'worker', 'CF-Content-Type': m.contentType },
          })),
        },
      };
    }
    if (op === 'peek') {
      const batchSize = Math.min(100, Math.max(1, Number(body.batch_size ?? 5)));
      const visible = queue.messages.filter((m) => !m.lease).slice(0, batchSize);
      calls.push({ op: 'peek', queue: name, ids: visible.map((m) => m.id), status: 200 });
      return {
        status: 200,
        result: {
          messages: visible.map((m) => ({
            id: m.id,
            body: m.encodedBody,
            attempts: m.attempts,
            ref: randomUUID(),
            timestamp_ms: m.timestampMs,
            metadata: { 'CF-sourceMessageSource': 'worker', 'CF-Content-Type': m.contentType },
          })),
        },
      };
    }
    if (op === 'ack') {
      const acks = (body.acks ?? []) as Array<{ lease_id?: string }>;
      const retries = (body.retries ?? []) as Array<{ lease_id?: string }>;
      const leaseIds = new Set(acks.map((a) => a.lease_id));
      const acked = queue.messages.filter((m) => m.leaseIds.some((id) => leaseIds.has(id)));
      queue.messages = queue.messages.filter((m) => !acked.includes(m));
      const retryIds = new Set(retries.map((r) => r.lease_id));
      for (const message of queue.messages)
        if (message.lease && retryIds.has(message.lease.id)) message.lease.until = now;
      settleLeases(now);
      calls.push({ op: 'ack', queue: name, ids: acked.map((m) => m.id), status: 200 });
      return { status: 200, result: { ackCount: acked.length, retryCount: retryIds.size, warnings: [] } };
    }
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0 || messages.length > 100) {
      calls.push({ op: 'publish', queue: name, status: 400 });
      return { status: 400, result: null, errors: [{ code: 10206, message: 'Batch count out of bounds' }] };
    }
    const sizes = (messages as Array<{ body?: unknown; content_type?: ContentType }>).map(publishedBytes);
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    const refusal = sizes.some((size) => size > MAX_MESSAGE_BYTES)
      ? { code: 10204, message: 'Message size out of bounds' }
      : bytes > MAX_BATCH_BYTES
        ? { code: 10205, message: 'Batch size out of bounds' }
        : undefined;
    if (refusal) {
      calls.push({ op: 'publish', queue: name, bytes, status: 400 });
      return { status: 400, result: null, errors: [refusal] };
    }
    const published = messages as Array<{ body?: unknown; content_type?: ContentType }>;
    for (const message of published) {
      const contentType = message.content_type ?? 'json';
      queue.messages.push({
        id: randomBytes(16).toString('hex'),
        encodedBody: encode(message.body, contentType),
        contentType,
        attempts: 0,
        timestampMs: now,
        leaseIds: [],
      });
    }
    calls.push({ op: 'publish', queue: name, bodies: published.map((m) => m.body), bytes, status: 200 });
    return { status: 200, result: null };
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const send = (answer: Answer, headers: Record<string, string> = {}) => {
        response.writeHead(answer.status, { 'content-type': 'application/json', ...headers });
        response.end(
          JSON.stringify({
            success: answer.status < 400,
            errors: answer.errors ?? [],
            messages: [],
            result: answer.result,
          }),
        );
      };
      const refuse = (status: number, code: number, message: string) =>
        send({ status, result: null, errors: [{ code, message }] });
      if (request.headers.authorization !== `Bearer ${token}`) {
        refuse(401, 10000, 'Authentication error');
        return;
      }
      const prefix = `/client/v4/accounts/${accountId}/queues`;
      const url = new URL(request.url ?? '/', 'http://fake');
      if (!url.pathname.startsWith(prefix)) {
        refuse(404, 7003, 'Could not route to this path');
        return;
      }
      let body: Record<string, unknown> = {};
      try {
        if (chunks.length > 0)
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        refuse(400, 10001, 'Malformed JSON');
        return;
      }
      const rest = url.pathname.slice(prefix.length);
      const match = /^\/([0-9a-f]+)\/messages\/(pull|peek|ack|batch)$/.exec(rest);
      const isList = request.method === 'GET' && rest === '';
      const found = match?.[1] ? byId(match[1]) : undefined;
      if (!isList && (request.method !== 'POST' || !match || !found)) {
        refuse(404, 11000, 'Queue or route not found');
        return;
      }
      const op: Op = isList ? 'list' : match?.[2] === 'batch' ? 'publish' : (match?.[2] as Op);
      const name = found?.[0];
      const now = clock();
      const waitSeconds = rateLimited(op, now);
      if (waitSeconds > 0) {
        calls.push({ op, queue: name, status: 429 });
        send(
          {
            status: 429,
            result: null,
            errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
          },
          { 'retry-after': String(waitSeconds) },
        );
        return;
      }
      const failure = dueFailure(op);
      const status = failure?.status ?? 500;
      const fail = () => {
        if (status === 'drop') {
          response.socket?.destroy();
          return;
        }
        send(
          {
            status,
            result: null,
            errors: [
              status === 429
                ? { code: 971, message: 'Please wait and consider throttling your request speed' }
                : { code: 10013, message: 'Internal error (simulated)' },
            ],
          },
          failure?.retryAfter === undefined ? {} : { 'retry-after': failure.retryAfter },
        );
      };
      if (failure && !failure.applied) {
        calls.push({ op, queue: name, status: status === 'drop' ? 0 : status });
        fail();
        return;
      }
      let answer: Answer;
      if (op === 'list') {
        calls.push({ op: 'list', status: 200 });
        answer = {
          status: 200,
          result: [...queues.entries()].map(([queueName, queue]) => ({
            queue_id: queue.id,
            queue_name: queueName,
          })),
        };
      } else {
        const [queueName, queue] = found as [string, { id: string; messages: StoredMessage[] }];
        settleLeases(now);
        answer = perform(op, queueName, queue, body, now);
      }
      if (failure) {
        const recorded = calls[calls.length - 1];
        if (recorded) Object.assign(recorded, { status: status === 'drop' ? 0 : status, applied: true });
        fail();
        return;
      }
      send(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    apiBase: `http://127.0.0.1:${port}/client/v4`,
    accountId,
    token,
    calls,
    enqueue(queueName, bodies, contentType = 'json') {
      const queue = ensure(queueName);
      return bodies.map((body) => {
        const id = randomBytes(16).toString('hex');
        queue.messages.push({
          id,
          encodedBody: encode(body, contentType),
          contentType,
          attempts: 0,
          timestampMs: clock(),
          leaseIds: [],
        });
        return id;
      });
    },
    contents(queueName) {
      const now = clock();
      settleLeases(now);
      return (queues.get(queueName)?.messages ?? []).map((m) => ({
        id: m.id,
        body: m.contentType === 'v8' ? undefined : decode(m),
        leased: m.lease !== undefined && m.lease.until > now,
      }));
    },
    fail(op, failure) {
      failures.set(op, { ...failure, after: failure.after ?? 0 });
    },
    rateLimit({ requests, windowMs }) {
      limit = { requests, windowMs, windowStart: clock(), used: 0 };
    },
    expireLeases() {
      for (const queue of queues.values())
        for (const message of queue.messages) if (message.lease) message.lease.until = 0;
      settleLeases(clock());
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
