/**
 * A small client of the Cloudflare Queues REST API (developers.cloudflare.com/api/resources/queues):
 * list queues, pull, ack, publish a batch. Every call checks the HTTP status and the API's
 * `success` flag and throws an error that names the call (never the token).
 *
 * A call that fails for a passing reason (HTTP 429, 5xx, a network error or timeout) is tried again
 * after the server's `Retry-After` (seconds or an HTTP date) or, without one, an exponential back-off
 * with jitter; within a total wait for the client's life, a number of tries per call, and a per-call
 * deadline the caller sets (the lease of messages it holds). Past them it throws {@link RetriesExhausted}
 * saying which bound stopped it. Why each call may be repeated: see `call`.
 */
import { bearerTokenProblem, withoutSecret } from './header-token';

/** A message as the pull endpoint returns it. */
export interface PulledMessage {
  id: string;
  /** `text`: the string as sent; `json` and `bytes`: base64 (see {@link decodeMessageBody}). */
  body: string;
  lease_id: string;
  attempts: number;
  timestamp_ms?: number;
  metadata?: Record<string, string>;
}

/** A message to publish; `json` bodies are any JSON value, `text` bodies strings. */
export type OutgoingMessage =
  | { body: unknown; content_type: 'json' }
  | { body: string; content_type: 'text' };

/** What a pulled message's body decodes to, or why it cannot be republished as it was sent. */
export type DecodedBody = { ok: true; message: OutgoingMessage } | { ok: false; reason: string };

/**
 * Decodes a pulled body by its `CF-Content-Type`: the pull API base64-encodes `json` and `bytes`
 * bodies and sends `text` as is; `v8` (structured clone) is Workers-only and cannot be decoded
 * outside the runtime (developers.cloudflare.com/queues/configuration/pull-consumers, "Content types").
 */
export function decodeMessageBody(message: Pick<PulledMessage, 'body' | 'metadata'>): DecodedBody {
  const contentType = message.metadata?.['CF-Content-Type'] ?? 'json';
  if (contentType === 'text') return { ok: true, message: { body: message.body, content_type: 'text' } };
  if (contentType !== 'json')
    return { ok: false, reason: `content type "${contentType}" cannot be republished over HTTP` };
  try {
    const text = Buffer.from(message.body, 'base64').toString('utf8');
    return { ok: true, message: { body: JSON.parse(text), content_type: 'json' } };
  } catch (error) {
    return {
      ok: false,
      reason: `json body does not decode: ${error instanceof Error ? error.message : error}`,
    };
  }
}

interface ApiEnvelope {
  success?: boolean;
  errors?: Array<{ code?: number; message?: string }>;
  result?: unknown;
}

/** How long one attempt may take; past it the attempt counts as a network error. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface RetryPolicy {
  /**
   * The most time the client may spend waiting between attempts, over all its calls (one run).
   * A wait that would pass it is not started.
   */
  maxTotalWaitMs: number;
  /** Tries per call, the first included: bounds a server that keeps answering `Retry-After: 0`. */
  maxAttempts: number;
  /** Without `Retry-After`: the n-th retry waits between half and all of base × 2^(n-1), at most maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * 15 minutes in all: three of the 5-minute blocks Cloudflare imposes on a user past 1,200 requests in
 * 5 minutes (developers.cloudflare.com/fundamentals/api/reference/limits). 20 tries per call; 1 s
 * doubling to 60 s when the server names no time.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  maxTotalWaitMs: 15 * 60_000,
  maxAttempts: 20,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
};

/** Time as the client sees it; tests pass a fake one so that a 5-minute Retry-After costs nothing. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1): the jitter of the back-off. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/** A call that kept failing for a passing reason until a bound of the retry policy (named in the message). */
export class RetriesExhausted extends Error {
  override readonly name = 'RetriesExhausted';
}

/**
 * `Retry-After` in milliseconds from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3; Cloudflare
 * sends whole seconds, "rounded up"). `undefined` when absent or not understood (the back-off applies).
 */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  const text = header?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // A date has a month and a day name; anything else Date.parse would take ("1.5") is not one.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Per call: the latest time a retry may start (the caller holds leases that end soon after). */
export interface CallOptions {
  retryUntil?: number;
}

type Attempt =
  | { ok: true; envelope: ApiEnvelope }
  | {
      ok: false;
      error: Error;
      retryable: boolean;
      /** The call may have been carried out (a 5xx, a lost answer); a 429 was refused before. */
      mayHaveApplied: boolean;
      retryAfterMs?: number;
      reason: string;
    };

export class QueuesApi {
  /** Waited between attempts so far, over every call: bounded by `retry.maxTotalWaitMs`. */
  private waitedMs = 0;

  constructor(
    private readonly base: string,
    private readonly accountId: string,
    private readonly token: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly clock: Clock = systemClock,
    private readonly log: (line: string) => void = () => {},
  ) {
    // fetch would refuse it with an error quoting the header, and that error is no network failure to retry.
    const problem = bearerTokenProblem('CLOUDFLARE_API_TOKEN', token);
    if (problem) throw new Error(problem);
  }

  /** The id of the queue named `name` (the API addresses queues by id; List Queues is one page). */
  async queueId(name: string): Promise<string> {
    const { envelope } = await this.call('GET', '/queues');
    const queues = (envelope.result ?? []) as Array<{ queue_id: string; queue_name: string }>;
    const queue = queues.find((candidate) => candidate.queue_name === name);
    if (!queue) throw new Error(`No queue named "${name}" in this account (wrangler queues list)`);
    return queue.queue_id;
  }

  /**
   * Leases up to `batchSize` (≤ 100) messages for `visibilityTimeoutMs`. `leaseEndsAt` counts from when
   * the answered attempt was sent, so it is never later than the lease Queues gave.
   */
  async pull(
    queueId: string,
    batchSize: number,
    visibilityTimeoutMs: number,
  ): Promise<{ messages: PulledMessage[]; leaseEndsAt: number; lostLeaseUntil?: number }> {
    const { envelope, sentAt, unsure } = await this.call('POST', `/queues/${queueId}/messages/pull`, {
      batch_size: batchSize,
      visibility_timeout_ms: visibilityTimeoutMs,
    });
    const result = envelope.result as { messages?: PulledMessage[] } | undefined;
    return {
      messages: result?.messages ?? [],
      leaseEndsAt: sentAt + visibilityTimeoutMs,
      // An earlier attempt that failed after reaching the server may have leased messages whose answer
      // was lost: they stay hidden until their lease ends, at the latest this.
      ...(unsure ? { lostLeaseUntil: sentAt + visibilityTimeoutMs } : {}),
    };
  }

  /**
   * Up to `batchSize` (≤ 100) messages without leasing them: unlike a pull, a peek is not a delivery
   * attempt, so it never brings a message closer to its consumer's `max_retries`, past which Queues
   * deletes it (Cloudflare API "Peek messages"; the SDKs' `queues.messages.peek`). Peeked messages
   * carry no `lease_id`.
   */
  async peek(queueId: string, batchSize: number): Promise<Array<Omit<PulledMessage, 'lease_id'>>> {
    const { envelope } = await this.call('POST', `/queues/${queueId}/messages/peek`, {
      batch_size: batchSize,
    });
    const result = envelope.result as { messages?: Array<Omit<PulledMessage, 'lease_id'>> } | undefined;
    return result?.messages ?? [];
  }

  /** Publishes messages in one call (the API takes up to 100 and 256 KB per batch). */
  async publish(queueId: string, messages: readonly OutgoingMessage[], options?: CallOptions): Promise<void> {
    await this.call('POST', `/queues/${queueId}/messages/batch`, { messages }, options);
  }

  /** Acknowledges leased messages (deletes them from the queue); returns how many the API counted. */
  async ack(queueId: string, leaseIds: readonly string[], options?: CallOptions): Promise<number> {
    const { envelope } = await this.call(
      'POST',
      `/queues/${queueId}/messages/ack`,
      { acks: leaseIds.map((lease_id) => ({ lease_id })), retries: [] },
      options,
    );
    return (envelope.result as { ackCount?: number } | undefined)?.ackCount ?? leaseIds.length;
  }

  /**
   * One API call, tried again on 429, 5xx and network errors. Repeating is safe for each call this
   * client makes, though not always free:
   * - a 429 was refused before it was processed (rate limits are checked first): nothing happened;
   * - list and peek only read; an ack of a lease already acked deletes nothing more;
   * - a publish that got a 5xx or lost its answer may have been applied: its messages are then queued
   *   twice. The events consumer stores each event under `_id` = `messageId` and takes a duplicate key
   *   as success, so MongoDB keeps one copy (its Redis side effects and `rejected_events` records of
   *   invalid entries can repeat: docs/analytics.md). Not retrying would not avoid it: the messages stay
   *   unacked in the DLQ and the next run publishes them again;
   * - a pull that got a 5xx may have leased messages whose answer was lost: they stay hidden until their
   *   visibility timeout ends, then come back (one delivery attempt spent), as after a crash.
   */
  private async call(
    method: string,
    path: string,
    body?: unknown,
    options: CallOptions = {},
  ): Promise<{ envelope: ApiEnvelope; sentAt: number; unsure: boolean }> {
    const what = `Cloudflare API ${method} ${path}`;
    /** An attempt failed after it may have been carried out (a 5xx, a lost answer; not a 429). */
    let unsure = false;
    for (let tries = 1; ; tries++) {
      const sentAt = this.clock.now();
      const attempt = await this.attempt(what, method, path, body);
      if (attempt.ok) return { envelope: attempt.envelope, sentAt, unsure };
      if (!attempt.retryable) throw attempt.error;
      unsure ||= attempt.mayHaveApplied;
      const waitMs = attempt.retryAfterMs ?? this.backoffMs(tries);
      const bound = this.boundReached(tries, waitMs, options);
      if (bound)
        throw new RetriesExhausted(`${attempt.error.message}; gave up: ${bound}`, { cause: attempt.error });
      const source = attempt.retryAfterMs === undefined ? 'back-off' : 'Retry-After';
      this.log(
        `${what}: ${attempt.reason}; trying again in ${seconds(waitMs)} s (${source}, try ${tries + 1})`,
      );
      this.waitedMs += waitMs;
      await this.clock.sleep(waitMs);
    }
  }

  /** Why no further try may be made, or `undefined` when one may (after `waitMs`). */
  private boundReached(tries: number, waitMs: number, options: CallOptions): string | undefined {
    if (tries >= this.retry.maxAttempts) return `tried ${tries} times`;
    const total = this.waitedMs + waitMs;
    if (total > this.retry.maxTotalWaitMs)
      return (
        `waiting ${seconds(waitMs)} s more would make ${seconds(total)} s, past the ` +
        `${seconds(this.retry.maxTotalWaitMs)} s this run may wait in all (--max-wait)`
      );
    if (options.retryUntil !== undefined && this.clock.now() + waitMs > options.retryUntil)
      return `waiting ${seconds(waitMs)} s would outlast the lease of the messages pulled for it`;
    return undefined;
  }

  /** Exponential with "equal jitter": at least half the step, so retries still spread out. */
  private backoffMs(tries: number): number {
    const step = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (tries - 1));
    return Math.round(step / 2 + (this.clock.random() * step) / 2);
  }

  private async attempt(what: string, method: string, path: string, body: unknown): Promise<Attempt> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/accounts/${this.accountId}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      // fetch's own errors may quote a header value (the token): never let one into a message.
      const reason = withoutSecret(error instanceof Error ? error.message : String(error), this.token);
      // Only a failure to reach the API (undici's "fetch failed", a timeout) is worth another try: a
      // request fetch refuses to make (a header or URL it cannot send) fails the same way every time.
      const network =
        error instanceof Error &&
        (error.message === 'fetch failed' || error.name === 'TimeoutError' || error.name === 'AbortError');
      return {
        ok: false,
        // A refused request's error is not kept as the cause either: printing the cause would quote it.
        error: new Error(`${what}: ${reason}`, network ? { cause: error } : undefined),
        retryable: network,
        mayHaveApplied: true,
        reason,
      };
    }
    const envelope = (await response.json().catch(() => ({}))) as ApiEnvelope;
    if (response.ok && envelope.success === true) return { ok: true, envelope };
    const reasons = (envelope.errors ?? []).map((e) => `${e.code ?? '?'} ${e.message ?? ''}`.trim());
    const reason = `HTTP ${response.status}${reasons.length ? ` (${reasons.join('; ')})` : ''}`;
    const retryable = response.status === 429 || response.status >= 500;
    return {
      ok: false,
      error: new Error(`${what}: ${reason}`),
      retryable,
      mayHaveApplied: response.status >= 500,
      retryAfterMs: retryable
        ? retryAfterMs(response.headers.get('retry-after'), this.clock.now())
        : undefined,
      reason,
    };
  }
}

function seconds(ms: number): string {
  return Number((ms / 1000).toFixed(1)).toString();
}
