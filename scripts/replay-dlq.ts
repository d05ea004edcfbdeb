/**
 * Replays the events dead-letter queue: pulls every message from `rx-events-dlq` over the
 * Cloudflare Queues HTTP API, publishes its body back to `rx-events`, and acknowledges it in
 * the DLQ only once the publish succeeded. Replaying is safe to repeat: the consumer stores by
 * `_id` = `messageId`, so an event that did reach MongoDB before is not doubled.
 *
 *   npx wrangler queues consumer http add rx-events-dlq --message-retries 100   # once
 *   CLOUDFLARE_ACCOUNT_ID=... CLOUDFLARE_API_TOKEN=... npx tsx scripts/replay-dlq.ts [--dry-run] [--limit N]
 *
 * The token needs the "Queues Edit" permission. Exit code 0 when the DLQ was drained (or the
 * dry run listed it), 1 on any failure or any message that could not be replayed (nothing is
 * acked that was not republished; what is left stays in the DLQ).
 *
 * Every pull is a delivery attempt, and Queues deletes a message whose attempts reach its consumer's
 * `max_retries` (3 unless set) without an ack: so the dry run peeks instead of pulling, and the
 * DLQ's HTTP consumer is added with the most retries Queues allows (docs/analytics.md).
 */
import { parseArgs } from 'node:util';
import { QUEUE_LIMITS } from '../worker/src/events/queue-chunks';
import {
  decodeMessageBody,
  type OutgoingMessage,
  type PulledMessage,
  QueuesApi,
} from './cloudflare-queues-api';

const API = process.env.CLOUDFLARE_API_BASE ?? 'https://api.cloudflare.com/client/v4';
/** Messages per pull, peek and publish (the API's maxima; a publish's are the producer's, QUEUE_LIMITS). */
const BATCH = QUEUE_LIMITS.maxMessagesPerBatch;
/**
 * How long pulled messages stay hidden from other pulls: covers publishing a batch in parts (up to
 * 50 publish + ack rounds for 100 messages of 128 KB). Past it, this run's next pull could hand them
 * out again, each time one more delivery attempt.
 */
const LEASE_MS = 300_000;

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

export interface ReplayResult {
  /** Republished and acked (for a dry run: peeked, and decodable). */
  replayed: number;
  /** Left in the DLQ, unacked, because their body cannot be republished (e.g. `v8` content type). */
  skipped: number;
}

/**
 * Drains `from` into `to`, one pulled batch at a time, each published in parts within Queues' batch
 * limits and each part acked once published. A failed publish throws before its ack, so those messages
 * stay in `from` (their lease expires and a later run replays them). Messages whose body cannot be
 * decoded are never acked and are counted in `skipped`. A dry run only peeks (see peekDlq).
 */
export async function replayDlq(options: ReplayOptions): Promise<ReplayResult> {
  const api = new QueuesApi(options.apiBase ?? API, options.accountId, options.apiToken);
  const log = options.log ?? ((line: string) => console.log(line));
  const fromId = await api.queueId(options.from ?? 'rx-events-dlq');
  const toId = await api.queueId(options.to ?? 'rx-events');
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (options.dryRun) return peekDlq(api, fromId, Math.min(BATCH, limit), log);
  const seen = new Set<string>();
  const result: ReplayResult = { replayed: 0, skipped: 0 };
  while (result.replayed < limit) {
    const batch = (await api.pull(fromId, Math.min(BATCH, limit - result.replayed), LEASE_MS)).filter(
      (message) => !seen.has(message.id),
    );
    // Empty, or only messages skipped earlier in this run whose lease ran out: nothing new to do.
    if (batch.length === 0) break;
    for (const message of batch) seen.add(message.id);
    const { ready, skipped } = decodeBatch(batch, log);
    result.skipped += skipped;
    // A pulled batch (100 messages of up to 128 KB each) can be far over what one publish takes
    // (256 KB): publish it in parts, and ack each part as soon as it is published, so a later
    // part's failure does not send the earlier ones again.
    for (const part of publishParts(ready)) {
      await api.publish(
        toId,
        part.map((entry) => entry.outgoing),
      );
      const acked = await api.ack(
        fromId,
        part.map((entry) => entry.leaseId),
      );
      if (acked !== part.length) log(`warning: the API acknowledged ${acked} of ${part.length} messages`);
      result.replayed += part.length;
      log(`replayed ${part.length} (total ${result.replayed})`);
    }
  }
  return result;
}

/**
 * The dry run: lists up to `count` messages with a peek, which neither leases them (a replay started
 * right after finds them) nor counts as a delivery attempt (a pull would, and enough dry runs would
 * make Queues delete them). Says which ones a replay would leave in the DLQ.
 */
async function peekDlq(
  api: QueuesApi,
  fromId: string,
  count: number,
  log: (line: string) => void,
): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: 0, skipped: 0 };
  for (const message of await api.peek(fromId, count)) {
    const decoded = decodeMessageBody(message);
    if (decoded.ok) {
      result.replayed++;
      log(`would replay ${message.id} (attempts ${message.attempts}, ${bodyBytes(decoded.message)} bytes)`);
    } else {
      result.skipped++;
      log(`would leave in the DLQ: ${message.id}: ${decoded.reason}`);
    }
  }
  return result;
}

interface ReadyMessage {
  outgoing: OutgoingMessage;
  leaseId: string;
}

/**
 * Splits messages, in order, into publishes within Queues' batch limits (QUEUE_LIMITS: messages, and
 * bytes with each message's metadata; a larger batch is refused, error 10205 BatchSizeOutOfBounds).
 * Not the worker's chunkForQueue: that one refuses a message over the per-message limit, and a
 * message pulled from a queue is always tried here.
 */
function publishParts(messages: readonly ReadyMessage[]): ReadyMessage[][] {
  const parts: ReadyMessage[][] = [];
  let current: ReadyMessage[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = bodyBytes(message.outgoing) + QUEUE_LIMITS.metadataBytes;
    if (
      current.length === QUEUE_LIMITS.maxMessagesPerBatch ||
      (current.length > 0 && currentBytes + bytes > QUEUE_LIMITS.maxBatchBytes)
    ) {
      parts.push(current);
      current = [];
      currentBytes = 0;
    }
    // A message alone is always tried: it was in a queue, so Queues took its size once already.
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

/** A message body's size as Queues counts it: its JSON (or text) in UTF-8. */
function bodyBytes(message: OutgoingMessage): number {
  const text = message.content_type === 'text' ? message.body : JSON.stringify(message.body);
  return Buffer.byteLength(text ?? '', 'utf8');
}

function decodeBatch(
  batch: readonly PulledMessage[],
  log: (line: string) => void,
): { ready: ReadyMessage[]; skipped: number } {
  const ready: ReadyMessage[] = [];
  let skipped = 0;
  for (const message of batch) {
    const decoded = decodeMessageBody(message);
    if (decoded.ok) ready.push({ outgoing: decoded.message, leaseId: message.lease_id });
    else {
      skipped++;
      log(`left in the DLQ: ${message.id}: ${decoded.reason}`);
    }
  }
  return { ready, skipped };
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
  const { replayed, skipped } = await replayDlq({
    accountId,
    apiToken,
    from: values.from,
    to: values.to,
    limit,
    dryRun: values['dry-run'],
  });
  console.log(
    values['dry-run']
      ? `${replayed} message(s) in ${values.from} would be replayed (peeked at most ${BATCH}; nothing leased or acked)`
      : `replayed ${replayed} message(s) into ${values.to}`,
  );
  if (skipped > 0) {
    const verb = values['dry-run']
      ? 'could not be replayed and would stay'
      : 'could not be replayed and stay';
    console.error(`${skipped} message(s) ${verb} in ${values.from}`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
