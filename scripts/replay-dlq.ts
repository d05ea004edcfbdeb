/**
 * Replays the events dead-letter queue: pulls every message from `rx-events-dlq` over the
 * Cloudflare Queues HTTP API, publishes its body back to `rx-events`, and acknowledges it in
 * the DLQ only once the publish succeeded. Replaying is safe to repeat: the consumer stores by
 * `_id` = `messageId`, so an event that did reach MongoDB before is not doubled.
 *
 *   npx wrangler queues consumer http add rx-events-dlq     # once: let the DLQ be pulled over HTTP
 *   CLOUDFLARE_ACCOUNT_ID=... CLOUDFLARE_API_TOKEN=... npx tsx scripts/replay-dlq.ts [--dry-run] [--limit N]
 *
 * The token needs the "Queues Edit" permission. Exit code 0 when the DLQ was drained (or the
 * dry run listed it), 1 on any failure (nothing is acked that was not republished).
 */
import { parseArgs } from 'node:util';

const API = process.env.CLOUDFLARE_API_BASE ?? 'https://api.cloudflare.com/client/v4';

interface PulledMessage {
  id: string;
  body: string;
  lease_id: string;
  attempts: number;
}

export interface ReplayOptions {
  accountId: string;
  apiToken: string;
  from?: string;
  to?: string;
  limit?: number;
  dryRun?: boolean;
  apiBase?: string;
  log?: (line: string) => void;
}

/** Drains `from` into `to`; returns how many messages were replayed (or seen, for a dry run). */
export async function replayDlq(options: ReplayOptions): Promise<number> {
  const api = new QueuesApi(options.apiBase ?? API, options.accountId, options.apiToken);
  const log = options.log ?? ((line: string) => console.log(line));
  const fromId = await api.queueId(options.from ?? 'rx-events-dlq');
  const toId = await api.queueId(options.to ?? 'rx-events');
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let replayed = 0;
  while (replayed < limit) {
    const batch = await api.pull(fromId, Math.min(100, limit - replayed));
    if (batch.length === 0) break;
    if (options.dryRun) {
      for (const message of batch)
        log(`would replay ${message.id} (attempts ${message.attempts}): ${message.body.slice(0, 120)}`);
      replayed += batch.length;
      break; // a dry run looks, it does not hold leases in a loop
    }
    await api.publish(
      toId,
      batch.map((message) => parseBody(message)),
    );
    await api.ack(
      fromId,
      batch.map((message) => message.lease_id),
    );
    replayed += batch.length;
    log(`replayed ${batch.length} (total ${replayed})`);
  }
  return replayed;
}

/** DLQ bodies were sent as JSON (`contentType: 'json'`); anything else is forwarded as text. */
function parseBody(message: PulledMessage): unknown {
  try {
    return JSON.parse(message.body);
  } catch {
    return message.body;
  }
}

class QueuesApi {
  constructor(
    private readonly base: string,
    private readonly accountId: string,
    private readonly token: string,
  ) {}

  async queueId(name: string): Promise<string> {
    const queues = await this.call<Array<{ queue_id: string; queue_name: string }>>('GET', '/queues');
    const queue = queues.find((candidate) => candidate.queue_name === name);
    if (!queue) throw new Error(`No queue named "${name}" in this account (wrangler queues list)`);
    return queue.queue_id;
  }

  pull(queueId: string, batchSize: number): Promise<PulledMessage[]> {
    return this.call('POST', `/queues/${queueId}/messages/pull`, {
      batch_size: batchSize,
      visibility_timeout_ms: 60_000,
    });
  }

  async publish(queueId: string, bodies: unknown[]): Promise<void> {
    await this.call('POST', `/queues/${queueId}/messages/batch`, {
      messages: bodies.map((body) => ({ body, content_type: 'json' })),
    });
  }

  async ack(queueId: string, leaseIds: string[]): Promise<void> {
    await this.call('POST', `/queues/${queueId}/messages/ack`, {
      acks: leaseIds.map((lease_id) => ({ lease_id })),
    });
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.base}/accounts/${this.accountId}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const payload = (await response.json().catch(() => ({}))) as {
      success?: boolean;
      result?: unknown;
      errors?: unknown;
    };
    if (!response.ok || payload.success === false) {
      throw new Error(
        `Cloudflare API ${method} ${path}: HTTP ${response.status} ${JSON.stringify(payload.errors ?? '')}`,
      );
    }
    const result = payload.result as { messages?: unknown } | unknown;
    // The pull endpoint answers `{ result: { messages: [...] } }`; the others answer the value itself.
    if (result && typeof result === 'object' && 'messages' in result && Array.isArray(result.messages)) {
      return result.messages as T;
    }
    return result as T;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      limit: { type: 'string' },
      from: { type: 'string', default: 'rx-events-dlq' },
      to: { type: 'string', default: 'rx-events' },
    },
  });
  const accountId = process.env.CLOUDFLARE_ACCOUNT_ID;
  const apiToken = process.env.CLOUDFLARE_API_TOKEN;
  if (!accountId || !apiToken) {
    console.error('Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (a token with "Queues Edit").');
    process.exit(1);
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    console.error('--limit must be a positive whole number');
    process.exit(1);
  }
  const count = await replayDlq({
    accountId,
    apiToken,
    from: values.from,
    to: values.to,
    limit,
    dryRun: values['dry-run'],
  });
  console.log(
    values['dry-run']
      ? `${count} message(s) in ${values.from}`
      : `replayed ${count} message(s) into ${values.to}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
