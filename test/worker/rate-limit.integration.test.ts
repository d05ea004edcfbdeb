import { describe, expect, it } from 'vitest';
import { call } from './edge-api-support';

/** wrangler.toml: RATE_LIMITER allows 600 requests per 60 s per key. */
const LIMIT = 600;
/**
 * Miniflare's limiter counts in fixed wall-clock windows (`Math.floor(Date.now() / 60_000)`) and
 * forgets every count when a new window starts, so a run that straddles a window boundary sees more
 * than LIMIT requests pass. Such an attempt is discarded and repeated at once with a client of its own
 * (a /64 no other attempt, test or run uses): that one starts just after the boundary, with the whole
 * new window before it. Nothing waits for a window to start.
 */
const WINDOW_MS = 60_000;
const ATTEMPTS = 3;

const windowOf = (ms: number) => Math.floor(ms / WINDOW_MS);

/** A client the limiter has never counted: a random IPv6 /64 of the documentation prefix. */
function freshClient(): { 'cf-connecting-ip': string } {
  const [a = 0, b = 0] = crypto.getRandomValues(new Uint16Array(2));
  return { 'cf-connecting-ip': `2001:db8:${a.toString(16)}:${b.toString(16)}::7` };
}

describe('per-client rate limit (RATE_LIMITER binding)', () => {
  it('answers 429 with Retry-After once one client exceeds the limit; other clients are unaffected', async () => {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // A client the limiter has not counted yet (each attempt its own).
      const client = freshClient();
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
      const other = await call('/v1/recommendations?placement=nowhere', { headers: freshClient() });
      expect(other.status).toBe(400);
      return;
    }
    throw new Error(`every one of ${ATTEMPTS} attempts crossed a rate-limit window boundary`);
  }, 120_000);
});
