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
 * dry run listed it), 1 on any failure or any message that could not be replayed (nothing is
 * acked that was not republished; what is left stays in the DLQ).
 */
import { parseArgs } from 'node:util';
import {
  decodeMessageBody,
  type OutgoingMessage,
  type PulledMessage,
  QueuesApi,
} from './cloudflare-queues-api';

const API = process.env.CLOUDFLARE_API_BASE ?? 'https://api.cloudflare.com/client/v4';
/** Messages per pull and per publish (both API maxima). */
const BATCH = 100;
/** How long pulled messages stay hidden from other pulls: covers one publish + ack round. */
const LEASE_MS = 60_000;

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
  /** Republished and acked (or, for a dry run, seen). */
  replayed: number;
  /** Left in the DLQ, unacked, because their body cannot be republished (e.g. `v8` content type). */
  skipped: number;
}

/**
 * Drains `from` into `to`, one pulled batch at a time: publish the batch, then ack it. A failed
 * publish throws before the ack, so those messages stay in `from` (their lease expires and a later
 * run replays them). Messages whose body cannot be decoded are never acked and are counted in `skipped`.
 */
export async function replayDlq(options: ReplayOptions): Promise<ReplayResult> {
  const api = new QueuesApi(options.apiBase ?? API, options.accountId, options.apiToken);
  const log = options.log ?? ((line: string) => console.log(line));
  const fromId = await api.queueId(options.from ?? 'rx-events-dlq');
  const toId = await api.queueId(options.to ?? 'rx-events');
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  const result: ReplayResult = { replayed: 0, skipped: 0 };
  while (result.replayed < limit) {
    const batch = (await api.pull(fromId, Math.min(BATCH, limit - result.replayed), LEASE_MS)).filter(
      (message) => !seen.has(message.id),
    );
    // Empty, or only messages skipped earlier in this run whose lease ran out: nothing new to do.
    if (batch.length === 0) break;
    for (const message of batch) seen.add(message.id);
    if (options.dryRun) {
      for (const message of batch) log(`would replay ${message.id} (attempts ${message.attempts})`);
      result.replayed += batch.length;
      break; // a dry run looks, it does not hold leases in a loop
    }
    const { ready, skipped } = decodeBatch(batch, log);
    result.skipped += skipped;
    if (ready.length === 0) continue;
    await api.publish(
      toId,
      ready.map((entry) => entry.outgoing),
    );
    const acked = await api.ack(
      fromId,
      ready.map((entry) => entry.leaseId),
    );
    if (acked !== ready.length) log(`warning: the API acknowledged ${acked} of ${ready.length} messages`);
    result.replayed += ready.length;
    log(`replayed ${ready.length} (total ${result.replayed})`);
  }
  return result;
}

function decodeBatch(
  batch: readonly PulledMessage[],
  log: (line: string) => void,
): { ready: Array<{ outgoing: OutgoingMessage; leaseId: string }>; skipped: number } {
  const ready: Array<{ outgoing: OutgoingMessage; leaseId: string }> = [];
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
      ? `${replayed} message(s) in ${values.from} (first batch)`
      : `replayed ${replayed} message(s) into ${values.to}`,
  );
  if (skipped > 0) {
    console.error(`${skipped} message(s) could not be replayed and stay in ${values.from}`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
