/**
 * The operator's ADMIN_TOKEN never reaches the shop's origin. The worker answers the admin API at
 * `/admin/models/…` alone; under a path prefix (`models:publish --url https://shop.example/en` PUTs
 * `/en/admin/models/…`) the request is the shop's, and was proxied with `Authorization: Bearer
 * <ADMIN_TOKEN>`. Any other Authorization header (the shop's own Basic auth) still goes on unchanged.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { proxied } from './proxy-helpers';

const ORIGIN_HOST = 'origin.admin-token.test';
const ADMIN_TOKEN = 'the-admin-token-0123456789abcdef0123456789abcdef';

/** The Authorization header of each origin request (null: none). */
const seen: (string | null)[] = [];
const realFetch = globalThis.fetch;
beforeEach(() => {
  seen.length = 0;
  globalThis.fetch = async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    if (new URL(request.url).hostname !== ORIGIN_HOST) return realFetch(input, init);
    seen.push(request.headers.get('authorization'));
    return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** What the origin saw of a PUT under /en with this Authorization header. */
async function originSaw(authorization: string, adminToken = ADMIN_TOKEN) {
  await proxied(
    '/en/admin/models/v1/catalogue.json',
    {
      method: 'PUT',
      body: '{}',
      headers: { authorization, 'content-type': 'application/octet-stream' },
    },
    { env: { ORIGIN_URL: `https://${ORIGIN_HOST}`, ADMIN_TOKEN: adminToken } },
  );
  expect(seen).toHaveLength(1);
  return seen.pop();
}

describe('proxy: the admin token', () => {
  it('is not passed on to the origin, in any spelling of the scheme or bare', async () => {
    expect(await originSaw(`Bearer ${ADMIN_TOKEN}`)).toBeNull();
    expect(await originSaw(`bearer  ${ADMIN_TOKEN}`)).toBeNull();
    expect(await originSaw(ADMIN_TOKEN)).toBeNull();
    // The secret as saved with its line break (the admin API trims it too).
    expect(await originSaw(`Bearer ${ADMIN_TOKEN}`, `${ADMIN_TOKEN}\n`)).toBeNull();
  });

  it("leaves any other Authorization header as it is: the shop's Basic auth, another bearer token", async () => {
    const basic = `Basic ${btoa('shop:staging-password')}`;
    expect(await originSaw(basic)).toBe(basic);
    expect(await originSaw('Bearer a-customer-token')).toBe('Bearer a-customer-token');
    expect(await originSaw(`Bearer ${ADMIN_TOKEN}x`)).toBe(`Bearer ${ADMIN_TOKEN}x`);
    // Without an ADMIN_TOKEN (admin API off) there is no admin token to keep: the header is the shop's.
    expect(await originSaw(`Bearer ${ADMIN_TOKEN}`, '')).toBe(`Bearer ${ADMIN_TOKEN}`);
  });
});
