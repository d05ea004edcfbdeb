import { describe, expect, it } from 'vitest';
import { call } from './edge-api-support';

/** A RATE_LIMITER that records the keys it is asked about and answers `success`. */
function recordingLimiter(success: boolean) {
  const keys: string[] = [];
  const limiter: RateLimit = {
    limit: async ({ key }) => {
      keys.push(key);
      return { success };
    },
  };
  return { limiter, keys };
}

const cookie = (id: string) => ({ cookie: `rx_uid=${id}` });
const SHOPPER_A = '11111111-2222-4333-8444-555555555555';
const SHOPPER_B = '66666666-7777-4888-8999-aaaaaaaaaaaa';

describe('rate limiter binding failures', () => {
  it('a limiter whose limit() throws lets requests through, and /healthz shows rate_limiter degraded', async () => {
    const broken: RateLimit = {
      limit: () => {
        throw new Error('rate limiter unavailable');
      },
    };
    const response = await call(
      '/v1/prices?product_ids=85123A',
      { headers: { 'cf-connecting-ip': '203.0.113.80' } },
      { RATE_LIMITER: broken },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { prices: unknown[] }).prices).toHaveLength(1);

    const health = (await (await call('/healthz', {}, { RATE_LIMITER: broken })).json()) as {
      status: string;
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(health.components.rate_limiter).toMatchObject({
      status: 'degraded',
      detail: 'Error: rate limiter unavailable',
    });
    expect(health.status).not.toBe('ok');
  });

  it('a limiter that never answers holds no request: the API and failed admin logins are answered, /healthz shows it', async () => {
    // A hung binding (its call never settles): before, every /v1 request and every wrong admin token
    // waited on it for good, and the runtime cancelled them (the test timed out).
    const hung: RateLimit = { limit: () => new Promise<never>(() => undefined) };
    const ip = { 'cf-connecting-ip': '203.0.113.82' };
    const prices = await call('/v1/prices?product_ids=85123A', { headers: ip }, { RATE_LIMITER: hung });
    expect(prices.status).toBe(200);
    const admin = await call(
      '/admin/models',
      { headers: { ...ip, authorization: 'Bearer not-the-admin-token' } },
      { ADMIN_AUTH_LIMITER: hung },
    );
    expect(admin.status).toBe(401);
    const health = (await (await call('/healthz', {}, { RATE_LIMITER: hung })).json()) as {
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(health.components.rate_limiter).toMatchObject({
      status: 'degraded',
      detail: expect.stringContaining('the rate limiter took longer than'),
    });
  });

  it('/healthz says disabled where no limiter is bound', async () => {
    const health = (await (await call('/healthz', {}, { RATE_LIMITER: undefined })).json()) as {
      components: Record<string, { status: string }>;
    };
    expect(health.components.rate_limiter?.status).toBe('disabled');
  });
});

describe('a client without an IP address is limited by its rx_uid cookie', () => {
  it('one key per cookie: the same shopper is refused on every request, another has its own key', async () => {
    const { limiter, keys } = recordingLimiter(false);
    const path = '/v1/recommendations?placement=home';
    const first = await call(path, { headers: cookie(SHOPPER_A) }, { RATE_LIMITER: limiter });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('60');
    expect((await call(path, { headers: cookie(SHOPPER_A) }, { RATE_LIMITER: limiter })).status).toBe(429);
    expect((await call(path, { headers: cookie(SHOPPER_B) }, { RATE_LIMITER: limiter })).status).toBe(429);
    expect(keys).toHaveLength(3);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    // Hashed before it reaches the binding: the cookie value itself is never the key.
    expect(keys.join('\n')).not.toContain(SHOPPER_A);
    expect(keys.join('\n')).not.toContain(SHOPPER_B);
  });

  it('the IP, when there is one, is the key whatever the cookie; with neither the request is not limited', async () => {
    const { limiter, keys } = recordingLimiter(false);
    const path = '/v1/recommendations?placement=home';
    const ip = { 'cf-connecting-ip': '203.0.113.81' };
    await call(path, { headers: { ...ip, ...cookie(SHOPPER_A) } }, { RATE_LIMITER: limiter });
    await call(path, { headers: { ...ip, ...cookie(SHOPPER_B) } }, { RATE_LIMITER: limiter });
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);

    const anonymous = await call(path, {}, { RATE_LIMITER: limiter });
    expect(anonymous.status).toBe(200);
    // A malformed cookie is no client id either.
    const malformed = await call(path, { headers: cookie('not-a-uuid') }, { RATE_LIMITER: limiter });
    expect(malformed.status).toBe(200);
    expect(keys).toHaveLength(2);
  });
});
