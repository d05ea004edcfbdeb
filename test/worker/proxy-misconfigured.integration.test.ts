/**
 * An `ORIGIN_URL` that is set but not an http(s) URL: no page can be proxied. Every proxied request gets
 * a clear 503 (a short page for a browser, the API's JSON error otherwise) that does not show the
 * setting's value; the problem is logged once per isolate as `config_problem`, never as an unhandled
 * error; `/healthz` says `config: down`; the worker's own routes keep working.
 */
import { describe, expect, it, vi } from 'vitest';
import { browserHeaders, viaWorker } from './proxy-helpers';

interface LogLine {
  level: string;
  event: string;
  problem?: string;
}

function logLines(spy: { mock: { calls: unknown[][] } }): LogLine[] {
  return spy.mock.calls.flatMap((call) => {
    try {
      return [JSON.parse(String(call[0])) as LogLine];
    } catch {
      return [];
    }
  });
}

describe('proxy: ORIGIN_URL set but not an http(s) URL', () => {
  it('answers every proxied request 503 origin_misconfigured, logged once as config_problem', async () => {
    const warn = vi.spyOn(console, 'warn');
    const error = vi.spyOn(console, 'error');
    try {
      const vars = { ORIGIN_URL: 'ftp://hidden-origin.example' };
      const page = await viaWorker('/products/85123A', {}, vars);
      expect(page.response.status).toBe(503);
      expect(page.response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.response.headers.get('cache-control')).toBe('no-store');
      expect(page.response.headers.get('retry-after')).toBe('300');
      expect(page.body).toContain('<h1>This shop is temporarily unavailable</h1>');
      expect(page.body).toContain('origin_misconfigured');
      expect(page.body).not.toContain('hidden-origin');

      const api = await viaWorker(
        '/cart.js',
        { headers: { ...browserHeaders(), accept: 'application/json' } },
        vars,
      );
      expect(api.response.status).toBe(503);
      expect(JSON.parse(api.body)).toEqual({
        error: {
          code: 'origin_misconfigured',
          message:
            'The shop cannot be reached through this address: its ORIGIN_URL setting is not an http(s) URL (see /healthz)',
          details: [],
        },
      });
      const post = await viaWorker('/cart/add', { method: 'POST', body: 'id=1' }, vars);
      expect(post.response.status).toBe(503);
      const head = await viaWorker('/', { method: 'HEAD' }, vars);
      expect(head.response.status).toBe(503);

      const errors = logLines(error);
      expect(errors.filter((line) => line.event === 'unhandled_error')).toEqual([]);
      expect(logLines(warn).filter((line) => line.event === 'config_problem')).toEqual([
        {
          level: 'warn',
          event: 'config_problem',
          problem: 'ORIGIN_URL must be an http(s) URL (like https://origin.shop.example), got ftp:',
        },
      ]);
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
  });

  it('answers the same for an origin written without its scheme, without showing it', async () => {
    for (const origin of ['hidden-origin.example', 'hidden-origin.example:8080']) {
      const page = await viaWorker('/', {}, { ORIGIN_URL: origin });
      expect(page.response.status, origin).toBe(503);
      expect(page.body).not.toContain('hidden-origin');
    }
  });

  it('keeps /healthz, /v1/*, /rx.js and the admin routes working', async () => {
    const vars = { ORIGIN_URL: 'shop.example.com' };
    const health = await viaWorker('/healthz', {}, vars);
    expect(health.response.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'down',
      components: {
        config: {
          status: 'down',
          detail:
            'ORIGIN_URL must be an http(s) URL (like https://origin.shop.example), got a value without http:// or https://',
        },
      },
    });
    const recommendations = await viaWorker('/v1/recommendations?placement=home&limit=2', {}, vars);
    expect(recommendations.response.status).toBe(200);
    // An unknown API path stays the API's 404, not the proxy's answer.
    const unknown = await viaWorker('/v1/nope', {}, vars);
    expect(unknown.response.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'not_found' } });
    const plugin = await viaWorker('/rx.js', {}, vars);
    expect(plugin.response.status).toBe(200);
    expect(plugin.response.headers.get('content-type')).toMatch(/javascript/);
    // The admin routes answer as they would with a good ORIGIN_URL (here: no ADMIN_TOKEN, so disabled).
    const admin = await viaWorker('/admin/models', {}, vars);
    const adminWithOrigin = await viaWorker('/admin/models', {}, {});
    expect(admin.response.status).toBe(adminWithOrigin.response.status);
    expect(admin.body).toBe(adminWithOrigin.body);
  });
});
