/**
 * Without USER_ID_SECRET a verify body's `user_id` is the caller's word, and `POST /v1/prices/verify`
 * is not held to the shoppers' rate limit (a checkout server calls it for every order). A token from a
 * shop's page names its shopper by pseudonym, so trying user ids against it until one verifies told
 * whose it was, unlimited. Failed guesses now have a per-client budget (the RATE_LIMITER binding);
 * verifications that succeed, and those naming no user id, are never counted.
 */
import { describe, expect, it } from 'vitest';
import { call, newShopper } from './edge-api-support';

const PRODUCT = '85123A';
const TARGET = 'customer-4711';

/** A RATE_LIMITER that allows each key `allowed` calls, then refuses it. */
function budgetLimiter(allowed: number) {
  const counts = new Map<string, number>();
  const limiter: RateLimit = {
    limit: async ({ key }) => {
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      return { success: count <= allowed };
    },
  };
  return { limiter, calls: () => [...counts.values()].reduce((sum, n) => sum + n, 0) };
}

async function quoteFor(userId: string): Promise<string> {
  const response = await call(`/v1/prices?product_ids=${PRODUCT}`, { headers: { 'x-rx-user-id': userId } });
  const { prices } = (await response.json()) as { prices: Array<{ token: string }> };
  const token = prices[0]?.token;
  if (!token) throw new Error('no price token');
  return token;
}

function verifier(limiter: RateLimit) {
  return (ip: string, body: Record<string, unknown>) =>
    call(
      '/v1/prices/verify',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip },
        body: JSON.stringify(body),
      },
      { RATE_LIMITER: limiter, USER_ID_SECRET: undefined },
    );
}

describe('guessing whose a price token is (no USER_ID_SECRET)', () => {
  it('is refused past the budget, the right guess included, while other clients are answered', async () => {
    const token = await quoteFor(TARGET);
    const { limiter } = budgetLimiter(2);
    const verify = verifier(limiter);
    const guesser = '198.51.100.7';
    for (const guess of ['customer-1', 'customer-2']) {
      const response = await verify(guesser, { tokens: [token], user_id: guess });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { valid: number }).valid).toBe(0);
    }
    const over = await verify(guesser, { tokens: [token], user_id: 'customer-3' });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('60');
    expect(await over.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // Refused before it is checked: a 200 among the 429s would say which guess was right.
    const right = await verify(guesser, { tokens: [token], user_id: TARGET });
    expect(right.status).toBe(429);
    // Another client (the checkout's server) is answered.
    const checkout = await verify('198.51.100.8', { tokens: [token], user_id: TARGET });
    expect(((await checkout.json()) as { valid: number }).valid).toBe(1);
  });

  it('counts no verification that succeeds, and none that names no user id', async () => {
    const token = await quoteFor(TARGET);
    const { limiter, calls } = budgetLimiter(2);
    const verify = verifier(limiter);
    for (let order = 0; order < 4; order += 1) {
      const response = await verify('198.51.100.9', { tokens: [token], user_id: TARGET });
      expect(((await response.json()) as { valid: number }).valid).toBe(1);
    }
    const shopper = await newShopper();
    for (let order = 0; order < 4; order += 1) {
      const response = await verify('198.51.100.9', { tokens: [token], anonymous_id: shopper.id });
      expect(response.status).toBe(200);
    }
    expect(calls()).toBe(0);
  });

  it('counts nothing where USER_ID_SECRET is set: a user id is then taken only signed', async () => {
    const token = await quoteFor(TARGET);
    const { limiter, calls } = budgetLimiter(0);
    const response = await call(
      '/v1/prices/verify',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cf-connecting-ip': '198.51.100.10' },
        body: JSON.stringify({ tokens: [token], user_id: 'customer-1' }),
      },
      { RATE_LIMITER: limiter, USER_ID_SECRET: 'a-user-id-secret-0123456789abcdef' },
    );
    expect(response.status).toBe(403);
    expect(calls()).toBe(0);
  });
});
