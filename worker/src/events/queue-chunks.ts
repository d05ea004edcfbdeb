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
  const chunks: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = message.bytes + QUEUE_LIMITS.metadataBytes;
    if (bytes > QUEUE_LIMITS.maxMessageBytes) {
      throw new RangeError(
        `A queue message of ${bytes} bytes is over the ${QUEUE_LIMITS.maxMessageBytes}-byte limit`,
      );
    }
    if (
      current.length === QUEUE_LIMITS.maxMessagesPerBatch ||
      currentBytes + bytes > QUEUE_LIMITS.maxBatchBytes
    ) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message.body);
    currentBytes += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
