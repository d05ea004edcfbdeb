/**
 * A path the worker answers, asked with a method it does not answer there: `405 method_not_allowed`
 * with `Allow` (RFC 9110 §15.5.6) and the API's error format, not a 404 that says the path does not
 * exist. Hono has no 405 of its own (an unmatched method is its not-found), so the app derives `Allow`
 * from its routes.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../worker/src/app';
import { testEnv } from './proxy-helpers';

const ADMIN_TOKEN = 'test-admin-token-for-methods-0123456789';

async function ask(path: string, method: string, env = testEnv({ ORIGIN_URL: '' }), headers = {}) {
  const response = await createApp().request(`https://rx.test${path}`, { method, headers }, env);
  const text = await response.text();
  return { response, body: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('a known path with a method it does not take', () => {
  const cases: Array<[string, string, string]> = [
    ['/healthz', 'POST', 'GET, HEAD'],
    ['/v1/recommendations', 'DELETE', 'GET, HEAD'],
    ['/v1/prices', 'PUT', 'GET, HEAD'],
    ['/v1/prices/verify', 'GET', 'POST'],
    ['/v1/events', 'GET', 'POST'],
    ['/v1/batch', 'GET', 'POST'],
    ['/rx.js', 'POST', 'GET, HEAD'],
  ];
  for (const [path, method, allow] of cases) {
    it(`${method} ${path} is 405 with Allow: ${allow}`, async () => {
      const { response, body } = await ask(path, method);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
      expect(body).toEqual({
        error: {
          code: 'method_not_allowed',
          message: `${method} is not allowed on ${path}`,
          details: [{ field: 'method', reason: `allowed: ${allow}` }],
        },
      });
    });
  }

  it('is the same in proxy mode: the worker’s own paths are never the origin’s', async () => {
    const { response } = await ask('/v1/prices/verify', 'GET', testEnv());
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('an admin route with parameters, once authenticated (before, a wrong method told anyone nothing)', async () => {
    const env = testEnv({ ORIGIN_URL: '', ADMIN_TOKEN });
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const upload = await ask('/admin/models/2026-01-01.1/manifest.json', 'DELETE', env, auth);
    expect(upload.response.status).toBe(405);
    expect(upload.response.headers.get('allow')).toBe('PUT');
    // Without the token it is the 401 it was: a method is no way around authentication.
    expect((await ask('/admin/models/2026-01-01.1/manifest.json', 'DELETE', env)).response.status).toBe(401);
  });

  it('a path no route has is still 404 not_found', async () => {
    const { response, body } = await ask('/v1/nothing-here', 'GET');
    expect(response.status).toBe(404);
    expect(response.headers.get('allow')).toBeNull();
    expect(body).toMatchObject({ error: { code: 'not_found' } });
  });
});
