/**
 * The app's error answers (DESIGN.md "HTTP API": `{ "error": { "code", "message", "details" } }`): an
 * unexpected failure in any route is a JSON 500 that says nothing of its cause, with the CORS headers a
 * shop's page needs to read it. Routes that fail on purpose are added to the real app after the proxy,
 * which hands them on when ORIGIN_URL is unset.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../worker/src/app';
import { PUBLIC, testEnv } from './proxy-helpers';

const SHOP = 'https://shop.example';

async function failing(throwIt: () => unknown) {
  const app = createApp();
  app.get('/v1/failing', async () => {
    await throwIt();
    return new Response('not reached');
  });
  const ctx = createExecutionContext();
  const response = await app.fetch(
    new Request(`${PUBLIC}/v1/failing`, { headers: { origin: SHOP } }),
    testEnv({ ORIGIN_URL: '', SHOP_ORIGINS: SHOP }),
    ctx,
  );
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  return { response, body };
}

describe('unexpected failures in a route', () => {
  const cases: Array<[string, () => unknown]> = [
    ['an Error', () => Promise.reject(new Error('secret detail'))],
    // Not an Error: Hono passes such a value by its error handler, and the runtime answered a bare 500
    // without CORS headers (the shop's page could not even read the status).
    ['a thrown string', () => Promise.reject('secret detail')],
    ['a rejected plain object', () => Promise.reject({ code: 'secret detail' })],
  ];
  for (const [what, throwIt] of cases) {
    it(`${what} is a JSON 500 that names no cause, readable by the shop's page`, async () => {
      const { response, body } = await failing(throwIt);
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
      expect(JSON.parse(body)).toEqual({
        error: { code: 'internal_error', message: 'Internal error', details: [] },
      });
    });
  }
});
