import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { ADMIN_TOKEN, call } from './edge-api-support';

/** wrangler.toml: ADMIN_AUTH_LIMITER allows 10 failed attempts per 60 s per client. */
const FAILURES_ALLOWED = 10;

let warn: MockInstance<typeof console.warn>;
beforeAll(() => {
  // Installed before this file's first admin request: the warning is written once per isolate.
  warn = vi.spyOn(console, 'warn');
});
afterAll(() => warn.mockRestore());

const admin = (ip: string, authorization?: string) =>
  call('/admin/models', { headers: { 'cf-connecting-ip': ip, ...(authorization ? { authorization } : {}) } });

describe('admin authentication', () => {
  it('takes the Bearer scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      expect((await admin('192.0.2.1', `${scheme} ${ADMIN_TOKEN}`)).status).toBe(200);
    }
    expect((await admin('192.0.2.1', `Basic ${ADMIN_TOKEN}`)).status).toBe(401);
  });

  it('refuses a client for a minute once it has failed too often, even with the right token then; others are unaffected', async () => {
    const attacker = '198.51.100.23';
    const statuses: number[] = [];
    for (let i = 0; i < FAILURES_ALLOWED + 2; i++)
      statuses.push((await admin(attacker, `Bearer guess-${i}`)).status);
    expect(statuses.slice(0, FAILURES_ALLOWED)).toEqual(new Array(FAILURES_ALLOWED).fill(401));
    expect(statuses.slice(FAILURES_ALLOWED)).toEqual([429, 429]);
    const right = await admin(attacker, `Bearer ${ADMIN_TOKEN}`);
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toBe('60');
    // Another client is not affected.
    expect((await admin('192.0.2.77', `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  });

  it('never counts a request without a bearer token: a preflight, a no-cors request or a page cannot lock the operator out', async () => {
    const neighbour = '203.0.113.40';
    const noToken = [
      () => call('/admin/models', { method: 'OPTIONS', headers: { 'cf-connecting-ip': neighbour } }),
      () => call('/admin/models', { headers: { 'cf-connecting-ip': neighbour } }),
      () => admin(neighbour, `Basic ${ADMIN_TOKEN}`),
      () => admin(neighbour, 'Bearer'),
    ];
    for (let round = 0; round < FAILURES_ALLOWED; round++) {
      for (const request of noToken) {
        const response = await request();
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    // The operator behind the same address still gets in.
    expect((await admin(neighbour, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
    // A wrong bearer token still counts.
    const statuses: number[] = [];
    for (let i = 0; i <= FAILURES_ALLOWED; i++)
      statuses.push((await admin(neighbour, `Bearer guess-${i}`)).status);
    expect(statuses.at(-1)).toBe(429);
  });

  it('counts an IPv6 client by its /64', async () => {
    // Every attempt from another address of one /64: the budget is the /64's.
    for (let i = 0; i < FAILURES_ALLOWED; i++) {
      expect((await admin(`2001:db8:cc:dd::${i + 1}`, 'Bearer nope')).status).toBe(401);
    }
    expect((await admin('2001:db8:cc:dd:ffff::9', 'Bearer nope')).status).toBe(429);
    expect((await admin('2001:db8:cc:dd:eeee::1', `Bearer ${ADMIN_TOKEN}`)).status).toBe(429);
    expect((await admin('2001:db8:cc:de::1', `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  });

  it('successes never count against the budget', async () => {
    for (let i = 0; i < FAILURES_ALLOWED * 2; i++) {
      expect((await admin('192.0.2.99', `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
    }
    expect((await admin('192.0.2.99', 'Bearer wrong')).status).toBe(401);
  });

  it('trims an ADMIN_TOKEN saved with its line break or spaces (echo | wrangler secret put): the operator gets in', async () => {
    const operator = '192.0.2.130';
    for (const saved of [`${ADMIN_TOKEN}\n`, `${ADMIN_TOKEN}\r\n`, ` ${ADMIN_TOKEN} `]) {
      const response = await call(
        '/admin/models',
        { headers: { 'cf-connecting-ip': operator, authorization: `Bearer ${ADMIN_TOKEN}` } },
        { ADMIN_TOKEN: saved },
      );
      expect(response.status, JSON.stringify(saved)).toBe(200);
    }
    // Still compared whole: a wrong token stays wrong.
    const wrong = await call(
      '/admin/models',
      { headers: { 'cf-connecting-ip': operator, authorization: `Bearer ${ADMIN_TOKEN}x` } },
      { ADMIN_TOKEN: `${ADMIN_TOKEN}\n` },
    );
    expect(wrong.status).toBe(401);
    // One of only whitespace is no token: the endpoints are off, not open to an empty bearer.
    const blank = await call(
      '/admin/models',
      { headers: { 'cf-connecting-ip': operator, authorization: `Bearer ${ADMIN_TOKEN}` } },
      { ADMIN_TOKEN: ' \n' },
    );
    expect(blank.status).toBe(404);
    expect((await call('/admin/live/screen', {}, { ADMIN_TOKEN: '\n' })).status).toBe(404);
  });

  it('warns once per isolate that the test ADMIN_TOKEN is shorter than 32 characters', () => {
    expect(ADMIN_TOKEN.length).toBeLessThan(32);
    const lines = warn.mock.calls
      .map((args) => String(args[0]))
      .filter((line) => line.includes('admin_token_short'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(ADMIN_TOKEN);
  });
});
