import { describe, expect, it } from 'vitest';
import { call } from './edge-api-support';

/** wrangler.toml: RATE_LIMITER allows 600 requests per 60 s per key. */
const LIMIT = 600;

describe('per-client rate limit (RATE_LIMITER binding)', () => {
  it('answers 429 with Retry-After once one client exceeds the limit; other clients are unaffected', async () => {
    const client = { 'cf-connecting-ip': '203.0.113.7' };
    // An invalid query is the cheapest request that still passes through the limiter (400 after it).
    const statuses = new Map<number, number>();
    let firstLimited = -1;
    for (let i = 0; i < LIMIT + 20; i++) {
      const response = await call('/v1/recommendations?placement=nowhere', { headers: client });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status === 429 && firstLimited < 0) {
        firstLimited = i;
        expect(response.headers.get('retry-after')).toBe('60');
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      }
    }
    expect(statuses.get(400)).toBe(LIMIT);
    expect(firstLimited).toBe(LIMIT);
    const other = await call('/v1/recommendations?placement=nowhere', {
      headers: { 'cf-connecting-ip': '198.51.100.9' },
    });
    expect(other.status).toBe(400);
  }, 120_000);
});
