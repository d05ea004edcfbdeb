/**
 * `GET /admin/live` without a usable Upstash client says which of the two it is: no Upstash settings,
 * or a UPSTASH_REDIS_REST_URL the client refuses (it used to say "not configured" for both, sending
 * an operator whose settings are there looking for missing ones).
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call } from './edge-api-support';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe('GET /admin/live without a usable Upstash client', () => {
  it('a URL the Upstash client refuses: 503 naming the setting, not "not configured", and not quoting it', async () => {
    const response = await call(
      '/admin/live?days=1',
      { headers: auth },
      {
        UPSTASH_REDIS_REST_URL: 'eu1-marker.upstash.io',
      },
    );
    expect(response.status).toBe(503);
    const text = await response.clone().text();
    expect(text).not.toContain('marker');
    const error = await errorOf(response);
    expect(error.code).toBe('cache_missing');
    expect(error.message).toMatch(/^UPSTASH_REDIS_REST_URL is not a URL the Upstash client accepts/);
    expect(error.message).not.toMatch(/configured/);
  });

  it('no Upstash settings: 503 saying none is configured', async () => {
    const response = await call(
      '/admin/live?days=1',
      { headers: auth },
      {
        UPSTASH_REDIS_REST_URL: '',
        UPSTASH_REDIS_REST_TOKEN: '',
      },
    );
    expect(response.status).toBe(503);
    const error = await errorOf(response);
    expect(error.code).toBe('cache_missing');
    expect(error.message).toMatch(/^No Upstash Redis is configured/);
  });
});
