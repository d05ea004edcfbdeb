/**
 * Replays the events dead-letter queue: pulls every message from `rx-events-dlq` over the
 * Cloudflare Queues HTTP API, publishes its body back to `rx-events`, and acknowledges it in
 * the DLQ only once the publish succeeded. Replaying is safe to repeat: the consumer stores by
 * `_id` = `messageId`, so an event that did reach MongoDB before is not doubled.
 *
 *   npx wrangler queues consumer http add rx-events-dlq --message-retries 100   # once
 *   CLOUDFLARE_ACCOUNT_ID=... CLOUDFLARE_API_TOKEN=... npx tsx scripts/replay-dlq.ts [--dry-run] [--limit N] [--max-wait S]
 *
 * The token needs the "Queues Edit" permission. Exit code 0 when the DLQ was drained (or the
 * dry run listed it), 1 on any failure or any message that could not be replayed (nothing is
 * acked that was not republished; what is left stays in the DLQ). A rate limit (429) or a passing
 * server error is waited out (cloudflare-queues-api.ts), at most `--max-wait` seconds in all (900).
 *
 * Every pull is a delivery attempt, and Queues deletes a message whose attempts reach its consumer's
 * `max_retries` (3 unless set) without an ack: so the dry run peeks instead of pulling, and the
 * DLQ's HTTP consumer is added with the most retries Queues allows (docs/analytics.md).
 */
import { parseArgs } from 'node:util';
import { groups } from '../contracts/groups';
import { QUEUE_LIMITS } from '../worker/src/events/queue-chunks';
import {
  type Clock,
  DEFAULT_RETRY,
  decodeMessageBody,
  type OutgoingMessage,
  type PulledMessage,
  QueuesApi,
  REQUEST_TIMEOUT_MS,
  systemClock,
} from './cloudflare-queues-api';
import { bearerTokenProblem } from './header-token';
import { isMain } from './is-main';

const API = process.env.CLOUDFLARE_API_BASE ?? 'https://api.cloudflare.com/client/v4';
/** Messages per pull, peek and publish (the API's maxima; a publish's are the producer's, QUEUE_LIMITS). */
const BATCH = QUEUE_LIMITS.maxMessagesPerBatch;
/**
 * How long pulled messages stay hidden from other pulls (Queues allows up to 12 hours): covers
 * publishing a batch in parts (up to 50 publish + ack rounds for 100 messages of 128 KB) and one
 * 5-minute block of Cloudflare's API rate limit on the way, with room to spare. Not longer: after a
 * crash, the batch in hand stays hidden from the next run that long.
 */
export const LEASE_MS = 15 * 60_000;
/**
 * No retry of a batch's publish or ack starts later than this before its lease ends: the attempt
 * itself may take REQUEST_TIMEOUT_MS, and the rest is slack for the lease counting from when Queues
 * got the pull. A lease that ends unacked costs a delivery attempt, lets another consumer pull the
 * messages, and deletes those at the DLQ consumer's `max_retries`: were the run then to stop before
 * publishing them, they would be lost. So the run stops while it still holds them; they come back.
 */
const LEASE_MARGIN_MS = 2 * REQUEST_TIMEOUT_MS;

export interface ReplayOptions {
  accountId: string;
  apiToken: string;
  from?: string;
  to?: string;
  limit?: number;
  dryRun?: boolean;
  apiBase?: string;
  log?: (line: string) => void;
  /** The most the run may wait on rate limits and server errors, in all (default 15 minutes). */
  maxWaitMs?: number;
  /** Time and sleep (tests pass a fake clock). */
  clock?: Clock;
}

export interface ReplayResult {
  /** Republished and acked (for a dry run: peeked, and decodable). */
  replayed: number;
  /** Left in the DLQ, unacked, because their body cannot be republished (e.g. `v8` content type). */
  skipped: number;
  /**
   * When a pull was retried after an attempt that may have leased messages whose answer was lost (a
   * 5xx, a timeout): those stay hidden in the DLQ until about this time (epoch ms), then a re-run
   * replays them. Unset when no pull was in doubt.
   */
  hiddenUntil?: number;
}

/**
 * The run stopped part way (an API call failed for good, or kept failing past --max-wait or the lease
 * in hand). The message says how far it got and what a re-run does; `result` has the counts.
 */
export class ReplayStopped extends Error {
  override readonly name = 'ReplayStopped';
  constructor(
    message: string,
    readonly result: ReplayResult,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** What the run holds between a pull and the acks: to say what happens to it if the run stops. */
interface InHand {
  /** Pulled, decoded, not yet acked. */
  unacked: number;
  /** Of those, published already (the ack is what failed). */
  published: number;
  leaseEndsAt: number;
}

/**
 * Drains `from` into `to`, one pulled batch at a time, each published in parts within Queues' batch
 * limits and each part acked once published. A publish that fails for good throws before its ack, so
 * those messages stay in `from` (their lease expires and a later run replays them); the run stops with
 * a {@link ReplayStopped} that says so. Messages whose body cannot be decoded are never acked and are
 * counted in `skipped`. A dry run only peeks (see peekDlq).
 */
export async function replayDlq(options: ReplayOptions): Promise<ReplayResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const clock = options.clock ?? systemClock;
  const retry = { ...DEFAULT_RETRY, maxTotalWaitMs: options.maxWaitMs ?? DEFAULT_RETRY.maxTotalWaitMs };
  const api = new QueuesApi(options.apiBase ?? API, options.accountId, options.apiToken, retry, clock, log);
  const from = options.from ?? 'rx-events-dlq';
  const to = options.to ?? 'rx-events';
  // Each published message would be pulled again by the same run: it would never end.
  if (from === to)
    throw new Error(`--from and --to both name ${from}: replay moves messages to another queue`);
  const fromId = await api.queueId(from);
  const toId = await api.queueId(to);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (options.dryRun) return peekDlq(api, fromId, Math.min(BATCH, limit), log);
  const seen = new Set<string>();
  const result: ReplayResult = { replayed: 0, skipped: 0 };
  let inHand: InHand | undefined;
  try {
    while (result.replayed < limit) {
      inHand = undefined;
      const pulled = await api.pull(fromId, Math.min(BATCH, limit - result.replayed), LEASE_MS);
      if (pulled.lostLeaseUntil !== undefined)
        result.hiddenUntil = Math.max(result.hiddenUntil ?? 0, pulled.lostLeaseUntil);
      const batch = pulled.messages.filter((message) => !seen.has(message.id));
      // Empty, or only messages skipped earlier in this run whose lease ran out: nothing new to do.
      if (batch.length === 0) break;
      for (const message of batch) seen.add(message.id);
      const { ready, skipped } = decodeBatch(batch, log);
      result.skipped += skipped;
      inHand = { unacked: ready.length, published: 0, leaseEndsAt: pulled.leaseEndsAt };
      const retryUntil = pulled.leaseEndsAt - LEASE_MARGIN_MS;
      // A pulled batch (100 messages of up to 128 KB each) can be far over what one publish takes
      // (256 KB): publish it in parts, and ack each part as soon as it is published, so a later
      // part's failure does not send the earlier ones again.
      for (const part of publishParts(ready)) {
        // Slow answers alone (no retry waits) could use up the lease too: same rule as for a retry.
        if (clock.now() > retryUntil)
          throw new Error(
            `too little is left of the batch's lease (ends ${iso(pulled.leaseEndsAt)}) to publish more of it`,
          );
        await api.publish(
          toId,
          part.map((entry) => entry.outgoing),
          { retryUntil },
        );
        inHand.published = part.length;
        const acked = await api.ack(
          fromId,
          part.map((entry) => entry.leaseId),
          { retryUntil },
        );
        if (acked !== part.length) log(`warning: the API acknowledged ${acked} of ${part.length} messages`);
        inHand.unacked -= part.length;
        inHand.published = 0;
        result.replayed += part.length;
        log(`replayed ${part.length} (total ${result.replayed})`);
      }
    }
  } catch (error) {
    throw new ReplayStopped(stopMessage(error, result, inHand, from, to), result, { cause: error });
  }
  return result;
}

/**
 * Says what was done, why the run stopped, where the rest is, and what a re-run does: the run's
 * output when it cannot finish (main prints it).
 */
function stopMessage(
  error: unknown,
  result: ReplayResult,
  inHand: InHand | undefined,
  from: string,
  to: string,
): string {
  const reason = error instanceof Error ? error.message : String(error);
  const lines = [
    `Replay stopped after ${result.replayed} message(s) were replayed into ${to}: ${reason}.`,
    `The rest stay in ${from}; run the command again to continue.`,
  ];
  if (inHand && inHand.unacked > 0)
    lines.push(
      `${inHand.unacked} message(s) pulled in this run and not acked are hidden until their lease ends ` +
        `(about ${iso(inHand.leaseEndsAt)}); a run before then does not see them.`,
    );
  if (inHand && inHand.published > 0)
    lines.push(
      `${inHand.published} of them were published and not acked: the next run publishes them again ` +
        '(the consumer stores each event once, by messageId).',
    );
  // A pull whose answer was lost may have leased a batch no one holds: a run before the lease ends
  // neither sees those messages nor says they exist, and would report the queue drained.
  if (result.hiddenUntil !== undefined)
    lines.push(
      `A pull was tried again after an answer was lost: messages it may have leased stay hidden in ${from} ` +
        `until about ${iso(result.hiddenUntil)}; run again after that to replay them.`,
    );
  return lines.join('\n');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
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
  // A message alone is always tried: it was in a queue, so Queues took its size once already.
  return groups(
    messages,
    QUEUE_LIMITS.maxMessagesPerBatch,
    QUEUE_LIMITS.maxBatchBytes,
    (message) => bodyBytes(message.outgoing) + QUEUE_LIMITS.metadataBytes,
  );
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

const USAGE = `usage: CLOUDFLARE_ACCOUNT_ID=... CLOUDFLARE_API_TOKEN=... npx tsx scripts/replay-dlq.ts [options]
Moves the events dead-letter queue's messages back to the events queue (the token needs "Queues Edit";
once: npx wrangler queues consumer http add rx-events-dlq --message-retries 100).
  --dry-run      peek at one batch: nothing leased, published or acked
  --limit N      stop after N messages
  --max-wait S   seconds to wait out rate limits and passing server errors in all (default 900)
  --from QUEUE   the queue to drain (default rx-events-dlq)
  --to QUEUE     the queue to publish to (default rx-events)
  -h, --help     this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'dry-run': { type: 'boolean', default: false },
      limit: { type: 'string' },
      'max-wait': { type: 'string' },
      from: { type: 'string', default: 'rx-events-dlq' },
      to: { type: 'string', default: 'rx-events' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const accountId = process.env.CLOUDFLARE_ACCOUNT_ID;
  const apiToken = process.env.CLOUDFLARE_API_TOKEN;
  if (!accountId || !apiToken) {
    console.error('Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (a token with "Queues Edit").');
    process.exit(1);
  }
  const tokenProblem = bearerTokenProblem('CLOUDFLARE_API_TOKEN', apiToken);
  if (tokenProblem) {
    console.error(tokenProblem);
    process.exit(1);
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    console.error('--limit must be a positive whole number');
    process.exit(1);
  }
  const maxWait = values['max-wait'];
  if (maxWait !== undefined && !/^\d+$/.test(maxWait)) {
    console.error('--max-wait must be a whole number of seconds, 0 or more');
    process.exit(1);
  }
  const { replayed, skipped, hiddenUntil } = await replayDlq({
    accountId,
    apiToken,
    from: values.from,
    to: values.to,
    limit,
    dryRun: values['dry-run'],
    maxWaitMs: maxWait === undefined ? undefined : Number(maxWait) * 1000,
  });
  console.log(
    values['dry-run']
      ? `${replayed} message(s) in ${values.from} would be replayed (peeked at most ${BATCH}; nothing leased or acked)`
      : `replayed ${replayed} message(s) into ${values.to}`,
  );
  if (hiddenUntil !== undefined) {
    console.error(
      `A pull was tried again after an answer was lost: messages it may have leased stay hidden in ${values.from} ` +
        `until about ${new Date(hiddenUntil).toISOString()}; run again after that to replay them.`,
    );
  }
  if (skipped > 0) {
    const verb = values['dry-run']
      ? 'could not be replayed and would stay'
      : 'could not be replayed and stay';
    console.error(`${skipped} message(s) ${verb} in ${values.from}`);
    process.exit(1);
  }
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
