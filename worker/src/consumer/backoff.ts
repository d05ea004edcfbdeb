/**
 * `max_retries` of the rx-events consumer in wrangler.toml. Queues does not tell a consumer its limit,
 * so it is repeated here (consumer-dead-letters.test.ts reads wrangler.toml to keep the two equal): a
 * message is delivered at most MAX_RETRIES + 1 times, and one retried on that last delivery goes to the
 * dead-letter queue (isLastAttempt).
 */
export const MAX_RETRIES = 20;

/** First retry delay; doubles per attempt. */
const BASE_DELAY_SECONDS = 2;
/**
 * Upper bound of one delay. Five minutes: long enough that a backlog retrying through a MongoDB outage
 * costs few invocations, short enough that events flow again within minutes of the recovery.
 * (Queues accepts up to 43,200 s = 12 hours per delay.)
 */
export const MAX_RETRY_DELAY_SECONDS = 300;
/** Share of random extra delay, so a backlog that failed together does not retry in one burst. */
const JITTER = 0.2;

/**
 * Delay before a message's next delivery: 2 s, 4 s, 8 s, ... 256 s, then 300 s, with up to 20 %
 * jitter. `attempts` is `Message.attempts` (1 on the first delivery).
 */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 20));
  const delay = Math.min(MAX_RETRY_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** exponent);
  return Math.max(1, Math.round(delay * (1 + JITTER * random())));
}

/**
 * The shortest MongoDB outage that can send a message to the dead-letter queue, in seconds: the sum of
 * the delays (without jitter) of its `maxRetries` retries (`max_retries` in wrangler.toml). An outage
 * shorter than this is ridden out; every event is stored once MongoDB is back.
 */
export function guaranteedOutageSeconds(maxRetries: number): number {
  let total = 0;
  for (let attempts = 1; attempts <= maxRetries; attempts++) total += retryDelaySeconds(attempts, () => 0);
  return total;
}

/**
 * Whether a delivery is a message's last (`attempts` is `Message.attempts`, 1 on the first): Queues
 * allows `maxRetries` retries, so a message retried now goes to the dead-letter queue instead.
 */
export function isLastAttempt(attempts: number, maxRetries: number = MAX_RETRIES): boolean {
  return attempts > maxRetries;
}
