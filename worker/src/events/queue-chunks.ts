import { groups } from '../../../contracts/groups';

/**
 * Cloudflare Queues' producer limits (developers.cloudflare.com/queues/platform/limits):
 * 100 messages and 256 KB (1 KB = 1000 bytes) per `sendBatch`, 128 KB per message, each
 * message counting up to ~100 bytes of metadata.
 */
export const QUEUE_LIMITS = {
  maxMessagesPerBatch: 100,
  maxBatchBytes: 256_000,
  maxMessageBytes: 128_000,
  metadataBytes: 100,
} as const;

/** A message with its serialized size (JSON body + metadata allowance). */
export interface SizedMessage<T> {
  body: T;
  bytes: number;
}

/**
 * Splits messages into `sendBatch` calls within the limits, keeping their order.
 * Throws on a single message over the per-message limit: no split can send it.
 */
export function chunkForQueue<T>(messages: readonly SizedMessage<T>[]): T[][] {
  const sizeOf = (message: SizedMessage<T>) => message.bytes + QUEUE_LIMITS.metadataBytes;
  for (const message of messages) {
    const bytes = sizeOf(message);
    if (bytes > QUEUE_LIMITS.maxMessageBytes) {
      throw new RangeError(
        `A queue message of ${bytes} bytes is over the ${QUEUE_LIMITS.maxMessageBytes}-byte limit`,
      );
    }
  }
  return groups(messages, QUEUE_LIMITS.maxMessagesPerBatch, QUEUE_LIMITS.maxBatchBytes, sizeOf).map((chunk) =>
    chunk.map((message) => message.body),
  );
}
