/**
 * A small client of the Cloudflare Queues REST API (developers.cloudflare.com/api/resources/queues):
 * list queues, pull, ack, publish a batch. Every call checks the HTTP status and the API's
 * `success` flag and throws an error that names the call (never the token).
 */

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

export class QueuesApi {
  constructor(
    private readonly base: string,
    private readonly accountId: string,
    private readonly token: string,
  ) {}

  /** The id of the queue named `name` (the API addresses queues by id; List Queues is one page). */
  async queueId(name: string): Promise<string> {
    const envelope = await this.call('GET', '/queues');
    const queues = (envelope.result ?? []) as Array<{ queue_id: string; queue_name: string }>;
    const queue = queues.find((candidate) => candidate.queue_name === name);
    if (!queue) throw new Error(`No queue named "${name}" in this account (wrangler queues list)`);
    return queue.queue_id;
  }

  /** Leases up to `batchSize` (≤ 100) messages for `visibilityTimeoutMs`. */
  async pull(queueId: string, batchSize: number, visibilityTimeoutMs: number): Promise<PulledMessage[]> {
    const envelope = await this.call('POST', `/queues/${queueId}/messages/pull`, {
      batch_size: batchSize,
      visibility_timeout_ms: visibilityTimeoutMs,
    });
    const result = envelope.result as { messages?: PulledMessage[] } | undefined;
    return result?.messages ?? [];
  }

  /**
   * Up to `batchSize` (≤ 100) messages without leasing them: unlike a pull, a peek is not a delivery
   * attempt, so it never brings a message closer to its consumer's `max_retries`, past which Queues
   * deletes it (Cloudflare API "Peek messages"; the SDKs' `queues.messages.peek`). Peeked messages
   * carry no `lease_id`.
   */
  async peek(queueId: string, batchSize: number): Promise<Array<Omit<PulledMessage, 'lease_id'>>> {
    const envelope = await this.call('POST', `/queues/${queueId}/messages/peek`, { batch_size: batchSize });
    const result = envelope.result as { messages?: Array<Omit<PulledMessage, 'lease_id'>> } | undefined;
    return result?.messages ?? [];
  }

  /** Publishes messages in one call (the API takes up to 100 and 256 KB per batch). */
  async publish(queueId: string, messages: readonly OutgoingMessage[]): Promise<void> {
    await this.call('POST', `/queues/${queueId}/messages/batch`, { messages });
  }

  /** Acknowledges leased messages (deletes them from the queue); returns how many the API counted. */
  async ack(queueId: string, leaseIds: readonly string[]): Promise<number> {
    const envelope = await this.call('POST', `/queues/${queueId}/messages/ack`, {
      acks: leaseIds.map((lease_id) => ({ lease_id })),
      retries: [],
    });
    return (envelope.result as { ackCount?: number } | undefined)?.ackCount ?? leaseIds.length;
  }

  private async call(method: string, path: string, body?: unknown): Promise<ApiEnvelope> {
    const what = `Cloudflare API ${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.base}/accounts/${this.accountId}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const envelope = (await response.json().catch(() => ({}))) as ApiEnvelope;
    if (!response.ok || envelope.success !== true) {
      const reasons = (envelope.errors ?? []).map((e) => `${e.code ?? '?'} ${e.message ?? ''}`.trim());
      throw new Error(`${what}: HTTP ${response.status}${reasons.length ? ` (${reasons.join('; ')})` : ''}`);
    }
    return envelope;
  }
}
