import { describe, expect, it } from 'vitest';
import { call } from './edge-api-support';

/** wrangler.toml: RATE_LIMITER allows 600 requests per 60 s per key. */
const LIMIT = 600;
/**
 * Miniflare's limiter counts in fixed wall-clock windows (`Math.floor(Date.now() / 60_000)`) and
 * forgets every count when a new window starts, so a run that straddles a window boundary sees more
 * than LIMIT requests pass. The run takes well under a second; each attempt starts with at least
 * MARGIN_MS left in its window, and one that crossed a boundary anyway (a stalled machine) is
 * discarded and repeated with a fresh client, in the new window.
 */
const WINDOW_MS = 60_000;
const MARGIN_MS = 20_000;
const ATTEMPTS = 3;

const windowOf = (ms: number) => Math.floor(ms / WINDOW_MS);

/** Waits for the next window if less than MARGIN_MS remain in the current one. */
async function startWithRoomInWindow(): Promise<void> {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < MARGIN_MS) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

describe('per-client rate limit (RATE_LIMITER binding)', () => {
  it('answers 429 with Retry-After once one client exceeds the limit; other clients are unaffected', async () => {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await startWithRoomInWindow();
      // A client the limiter has not counted yet (each attempt its own).
      const client = { 'cf-connecting-ip': `203.0.113.${7 + attempt}` };
      const startWindow = windowOf(Date.now());
      // An invalid query is the cheapest request that still passes through the limiter (400 after it).
      const statuses = new Map<number, number>();
      let firstLimited = -1;
      let limitedResponse: { retryAfter: string | null; code: string } | undefined;
      for (let i = 0; i < LIMIT + 20; i++) {
        const response = await call('/v1/recommendations?placement=nowhere', { headers: client });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 429 && firstLimited < 0) {
          firstLimited = i;
          limitedResponse = {
            retryAfter: response.headers.get('retry-after'),
            code: ((await response.json()) as { error: { code: string } }).error.code,
          };
        }
      }
      // Date.now() here is after the last limiter call: the same window means none crossed a boundary.
      if (windowOf(Date.now()) !== startWindow) continue;
      expect(statuses.get(400)).toBe(LIMIT);
      expect(firstLimited).toBe(LIMIT);
      expect(limitedResponse).toEqual({ retryAfter: '60', code: 'rate_limited' });
      const other = await call('/v1/recommendations?placement=nowhere', {
        headers: { 'cf-connecting-ip': '198.51.100.9' },
      });
      expect(other.status).toBe(400);
      return;
    }
    throw new Error(`every one of ${ATTEMPTS} attempts crossed a rate-limit window boundary`);
  }, 120_000);
});
