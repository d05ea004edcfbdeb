import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { componentHealth, reportFailure, reportRecovery } from '../../worker/src/health';

describe('GET /healthz', () => {
  it('reports every component with an overall status', async () => {
    const response = await SELF.fetch('http://worker.test/healthz');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.json<{ status: string; components: Record<string, { status: string }> }>();
    expect(['ok', 'degraded']).toContain(body.status);
    expect(body.components.queue?.status).toBe('ok');
    // No Upstash credentials in the test config: the cache is reported as not configured, not as broken.
    expect(body.components.cache?.status).toBe('disabled');
    // The events outbox is bound (wrangler.toml) and asked: empty, so ok.
    expect(body.components.outbox?.status).toBe('ok');
  });

  it('answers unknown API paths with the JSON error format', async () => {
    const response = await SELF.fetch('http://worker.test/v1/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: 'not_found', message: 'No route for GET /v1/nope', details: [] },
    });
  });
});

describe('what /healthz shows of a failure', () => {
  it('the kind of failure, not the command that failed or credentials in a URL', () => {
    reportFailure(
      'health-detail-test',
      new Error('ERR wrong number of arguments, command was: ["get","rx:v1:demo:3f2a9c:product:85123A"]'),
    );
    expect(componentHealth('health-detail-test', true).detail).toBe('Error: ERR wrong number of arguments');
    reportFailure(
      'health-detail-test',
      new Error('connect failed: mongodb+srv://rx:s3cret@cluster0.example.net/rx'),
    );
    const detail = componentHealth('health-detail-test', true).detail ?? '';
    expect(detail).not.toContain('s3cret');
    expect(detail).toContain('mongodb+srv://…@cluster0.example.net');
    reportRecovery('health-detail-test');
  });
});
