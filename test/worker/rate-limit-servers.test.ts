import { describe, expect, it } from 'vitest';
import { clientNetwork } from '../../worker/src/middleware/client-network';
import { call } from './edge-api-support';

/** A RATE_LIMITER that refuses everything and records the keys it was asked about. */
function refusingLimiter() {
  const keys: string[] = [];
  const limiter: RateLimit = {
    limit: async ({ key }) => {
      keys.push(key);
      return { success: false };
    },
  };
  return { limiter, keys };
}

const WRITE_KEY = 'test-segment-write-key'; // test/support/worker-project.ts
const SERVER_KEY = 'test-segment-server-write-key';
const basic = (key: string) => `Basic ${btoa(`${key}:`)}`;
const ip = { 'cf-connecting-ip': '203.0.113.50' };

describe('the shopper rate limit does not count the shop servers', () => {
  it('a Segment/RudderStack server with the server write key (Basic auth) is not a shopper; the public write key, a wrong key or one in the body is', async () => {
    const { limiter } = refusingLimiter();
    const env = { RATE_LIMITER: limiter, SEGMENT_SERVER_WRITE_KEY: SERVER_KEY };
    // An empty batch is refused after the limiter and the write key: 400 means the limiter let it by.
    const batch = (headers: Record<string, string>, body: unknown = { batch: [] }) =>
      call(
        '/v1/batch',
        {
          method: 'POST',
          headers: { ...ip, 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        },
        env,
      );
    expect((await batch({ authorization: basic(SERVER_KEY) })).status).toBe(400);
    // SEGMENT_WRITE_KEY may sit in the shop's pages (RudderStack JS): whoever copies it is a shopper.
    expect((await batch({ authorization: basic(WRITE_KEY) })).status).toBe(429);
    expect((await batch({ authorization: basic('not-the-key') })).status).toBe(429);
    expect((await batch({}, { batch: [], writeKey: SERVER_KEY })).status).toBe(429);
  });

  it("analytics.js 2.0's short paths (/v1/b, /v1/t, /v1/p, /v1/i) are exempt with the server key as the long ones are", async () => {
    const { limiter } = refusingLimiter();
    const env = { RATE_LIMITER: limiter, SEGMENT_SERVER_WRITE_KEY: SERVER_KEY };
    const post = (path: string, key: string) =>
      call(
        path,
        {
          method: 'POST',
          headers: { ...ip, 'content-type': 'application/json', authorization: basic(key) },
          // Refused once past the limiter and the key (no batch entry, no event): 400 means let by.
          body: path.endsWith('/b') || path.endsWith('/batch') ? '{"batch":[]}' : '{}',
        },
        env,
      );
    for (const path of ['/v1/b', '/v1/t', '/v1/p', '/v1/i', '/v1/batch', '/v1/track']) {
      expect({ path, status: (await post(path, SERVER_KEY)).status }).toEqual({ path, status: 400 });
      expect({ path, status: (await post(path, WRITE_KEY)).status }).toEqual({ path, status: 429 });
    }
  });

  it('a server key equal to the public write key exempts nothing (it is as public)', async () => {
    const { limiter } = refusingLimiter();
    const response = await call(
      '/v1/batch',
      {
        method: 'POST',
        headers: { ...ip, 'content-type': 'application/json', authorization: basic(WRITE_KEY) },
        body: '{"batch":[]}',
      },
      { RATE_LIMITER: limiter, SEGMENT_SERVER_WRITE_KEY: WRITE_KEY },
    );
    expect(response.status).toBe(429);
  });

  it('either key is taken by the Segment-compatible intake once past the limiter', async () => {
    const env = { SEGMENT_SERVER_WRITE_KEY: SERVER_KEY };
    const batch = (key: string) =>
      call(
        '/v1/batch',
        {
          method: 'POST',
          headers: { ...ip, 'content-type': 'application/json', authorization: basic(key) },
          body: '{"batch":[]}',
        },
        env,
      );
    // 400: the key was taken and the empty batch refused; 401: the key was not.
    expect((await batch(SERVER_KEY)).status).toBe(400);
    expect((await batch(WRITE_KEY)).status).toBe(400);
    expect((await batch('not-the-key')).status).toBe(401);
    const serverKeyOnly = await call(
      '/v1/batch',
      {
        method: 'POST',
        headers: { ...ip, 'content-type': 'application/json', authorization: basic(SERVER_KEY) },
        body: '{"batch":[]}',
      },
      { SEGMENT_WRITE_KEY: '', SEGMENT_SERVER_WRITE_KEY: SERVER_KEY },
    );
    expect(serverKeyOnly.status).toBe(400);
  });

  it('a blank Segment key is no key: it exempts nobody from the limit and opens no intake', async () => {
    // A key of only whitespace is no secret (anyone sends Basic " :"), as a blank USER_ID_SECRET is none.
    const { limiter } = refusingLimiter();
    const blank = ' \t';
    const batch = (env: Record<string, unknown>) =>
      call(
        '/v1/batch',
        {
          method: 'POST',
          headers: { ...ip, 'content-type': 'application/json', authorization: basic(blank) },
          body: '{"batch":[]}',
        },
        env,
      );
    expect((await batch({ RATE_LIMITER: limiter, SEGMENT_SERVER_WRITE_KEY: blank })).status).toBe(429);
    const intake = await batch({ SEGMENT_WRITE_KEY: blank, SEGMENT_SERVER_WRITE_KEY: '' });
    expect(intake.status).toBe(401);
    expect(((await intake.json()) as { error: { code: string } }).error.code).toBe('segment_not_configured');
  });

  it("the server key exempts only the Segment-compatible intake: with it, the shoppers' routes are still limited", async () => {
    const { limiter } = refusingLimiter();
    const withKey = { ...ip, authorization: basic(SERVER_KEY) };
    const env = { RATE_LIMITER: limiter, SEGMENT_SERVER_WRITE_KEY: SERVER_KEY };
    expect((await call('/v1/recommendations?placement=home', { headers: withKey }, env)).status).toBe(429);
    expect((await call('/v1/prices?product_ids=A1', { headers: withKey }, env)).status).toBe(429);
    const events = await call(
      '/v1/events',
      { method: 'POST', headers: { ...withKey, 'content-type': 'application/json' }, body: '{"batch":[]}' },
      env,
    );
    expect(events.status).toBe(429);
  });

  it('POST /v1/prices/verify (the checkout server, which has no credential) is not limited per IP', async () => {
    const { limiter, keys } = refusingLimiter();
    const verify = await call(
      '/v1/prices/verify',
      { method: 'POST', headers: { ...ip, 'content-type': 'application/json' }, body: '{"tokens":["x"]}' },
      { RATE_LIMITER: limiter },
    );
    expect(verify.status).toBe(200);
    expect(keys).toEqual([]);
    // The shoppers' routes from the same address still are.
    const shopper = await call('/v1/prices?product_ids=A1', { headers: ip }, { RATE_LIMITER: limiter });
    expect(shopper.status).toBe(429);
  });
});

describe('IPv6 clients are keyed by their /64', () => {
  it('addresses of one /64 share a key; another /64 has its own', async () => {
    const { limiter, keys } = refusingLimiter();
    for (const address of ['2001:db8:1:2::1', '2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd', '2001:db8:1:3::1']) {
      await call(
        '/v1/recommendations?placement=home',
        { headers: { 'cf-connecting-ip': address } },
        {
          RATE_LIMITER: limiter,
        },
      );
    }
    expect(keys).toHaveLength(3);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('clientNetwork: /64 prefixes, IPv4 as is, IPv4-mapped IPv6 as IPv4', () => {
    expect(clientNetwork('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientNetwork('::1')).toBe('0:0:0:0::/64');
    expect(clientNetwork('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientNetwork('2001:db8:1:2:3:4:192.0.2.1')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientNetwork('203.0.113.7')).toBe('203.0.113.7');
    expect(clientNetwork('not:an:address:::')).toBe('not:an:address:::');
  });
});
