/** First retry delay; doubles per attempt. */
const BASE_DELAY_SECONDS = 2;
/** Upper bound of one delay. */
const MAX_DELAY_SECONDS = 60;

/**
 * Delay before a message's next delivery: 2 s, 4 s, 8 s, ... capped at 60 s, with up to 20 %
 * jitter so a backlog that failed together does not retry in one burst.
 * `attempts` is `Message.attempts` (1 on the first delivery).
 */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 10));
  const delay = Math.min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** exponent);
  return Math.max(1, Math.round(delay * (1 + 0.2 * random())));
}
