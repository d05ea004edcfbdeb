/**
 * The consumer's retry policy as deployed: `max_retries` from wrangler.toml with the back-off of
 * worker/src/consumer/backoff.ts. Pins the outage window documented in docs/analytics.md and the
 * Cloudflare Queues limits (at most 100 retries, at most 43,200 s per delay).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  guaranteedOutageSeconds,
  MAX_RETRY_DELAY_SECONDS,
  retryDelaySeconds,
} from '../../worker/src/consumer/backoff';

/** A setting of the rx-events consumer in wrangler.toml, undefined when it is not set. */
function consumerSetting(name: string): number | undefined {
  const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
  const consumer = /\[\[queues\.consumers\]\]\s*\nqueue = "rx-events"\n([\s\S]*?)(?:\n\[|$)/.exec(toml)?.[1];
  const value = consumer && new RegExp(`^${name} = (\\d+)$`, 'm').exec(consumer)?.[1];
  return value ? Number(value) : undefined;
}

/** `max_retries` of the rx-events consumer in wrangler.toml. */
function configuredMaxRetries(): number {
  const value = consumerSetting('max_retries');
  if (value === undefined) throw new Error('no max_retries for the rx-events consumer in wrangler.toml');
  return value;
}

describe('events consumer retry policy', () => {
  it('doubles from 2 s up to the cap, with at most 20 % jitter', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 30].map((n) => retryDelaySeconds(n, () => 0))).toEqual([
      2, 4, 8, 16, 32, 64, 128, 256, 300, 300,
    ]);
    expect(retryDelaySeconds(9, () => 0.999)).toBeLessThanOrEqual(MAX_RETRY_DELAY_SECONDS * 1.2);
    expect(retryDelaySeconds(1, () => 0.999)).toBe(2);
  });

  it('stays within Cloudflare Queues limits (≤ 100 retries, ≤ 12 h per delay)', () => {
    const maxRetries = configuredMaxRetries();
    expect(maxRetries).toBeLessThanOrEqual(100);
    for (let attempts = 1; attempts <= maxRetries + 1; attempts++)
      expect(retryDelaySeconds(attempts, () => 0.999)).toBeLessThanOrEqual(43_200);
  });

  it('rides out a MongoDB outage of over an hour before anything reaches the DLQ (docs/analytics.md)', () => {
    const seconds = guaranteedOutageSeconds(configuredMaxRetries());
    expect(seconds).toBe(4_110);
    const doc = readFileSync(new URL('../../docs/analytics.md', import.meta.url), 'utf8');
    expect(doc).toContain(`max_retries = ${configuredMaxRetries()}`);
    expect(doc).toContain('4,110 s');
  });

  it("bounds the consumer invocations at once so their batches fit the EventWriter's 128 MB", () => {
    // Every invocation hands its batch to the one EventWriter Durable Object. After an outage, a
    // backlog would scale invocations to Cloudflare's default of 250: 250 × 25 × 128 KB is ~800 MB
    // held there at once. Half the object's memory is the bound kept here.
    const concurrency = consumerSetting('max_concurrency') ?? 250;
    const batch = consumerSetting('max_batch_size') ?? 10;
    expect(concurrency * batch * 128_000).toBeLessThanOrEqual(64_000_000);
  });
});
