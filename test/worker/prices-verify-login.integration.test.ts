import { describe, expect, it } from 'vitest';
import { call, newShopper } from './edge-api-support';

/** A product of the built-in bundle (these tests publish none). */
const PRODUCT = '85123A';

async function quote(headers: Record<string, string>): Promise<string> {
  const response = await call(`/v1/prices?product_ids=${PRODUCT}`, { headers });
  expect(response.status).toBe(200);
  const { prices } = (await response.json()) as { prices: Array<{ token: string }> };
  const token = prices[0]?.token;
  if (!token) throw new Error('no price token');
  return token;
}

async function verify(tokens: string[], body: Record<string, string> = {}, headers = {}) {
  const response = await call('/v1/prices/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ tokens, ...body }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { valid: number; results: Array<{ valid: boolean; reason?: string }> };
}

describe('POST /v1/prices/verify for a logged-in shopper', () => {
  it("verifies a logged-in shopper's own tokens from the request (x-rx-user-id or user_id), as quoted", async () => {
    const shopper = await newShopper();
    const loggedIn = { cookie: shopper.cookie, 'x-rx-user-id': encodeURIComponent('o’brien@example.com') };
    const token = await quote(loggedIn);
    expect((await verify([token], {}, loggedIn)).valid).toBe(1);
    // user_id in the query, like the other routes take it.
    const query = await call(`/v1/prices/verify?user_id=${encodeURIComponent('o’brien@example.com')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: shopper.cookie },
      body: JSON.stringify({ tokens: [token] }),
    });
    expect(((await query.json()) as { valid: number }).valid).toBe(1);
    // Another user on the same browser does not get them.
    const other = { cookie: shopper.cookie, 'x-rx-user-id': 'someone-else' };
    expect((await verify([token], {}, other)).results[0]?.reason).toBe('other_user');
  });

  it('verifies a token quoted before login once the shopper has logged in (request or body naming both)', async () => {
    const shopper = await newShopper();
    const beforeLogin = await quote({ cookie: shopper.cookie });
    const afterLogin = await quote({ cookie: shopper.cookie, 'x-rx-user-id': 'u-4711' });
    const both = [beforeLogin, afterLogin];
    // The browser at checkout: cookie and user id.
    expect((await verify(both, {}, { cookie: shopper.cookie, 'x-rx-user-id': 'u-4711' })).valid).toBe(2);
    // The shop's server naming both.
    expect((await verify(both, { user_id: 'u-4711', anonymous_id: shopper.id })).valid).toBe(2);
    // Naming one identity verifies only that identity's tokens.
    expect((await verify(both, { user_id: 'u-4711' })).results.map((r) => r.valid)).toEqual([false, true]);
    expect((await verify(both, { anonymous_id: shopper.id })).results.map((r) => r.valid)).toEqual([
      true,
      false,
    ]);
    // Another browser cannot claim the anonymous session's tokens by naming the same user.
    const stranger = await newShopper();
    expect(
      (await verify(both, {}, { cookie: stranger.cookie, 'x-rx-user-id': 'u-4711' })).results.map(
        (r) => r.valid,
      ),
    ).toEqual([false, true]);
  });
});
