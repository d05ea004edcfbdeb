/**
 * What the origin's answers say about its health. On Cloudflare an origin that is down, unresolvable or
 * timing out comes back from the worker's fetch as Cloudflare's own 520-530 answer, not as a thrown
 * error: those are the origin failing (the worker's 502 page, `/healthz` degraded). The origin's own
 * 5xx answers pass through as they are; 502-504 show on `/healthz`, and no 5xx counts as recovered.
 */
import { describe, expect, it } from 'vitest';
import { browserHeaders, raw, viaWorker } from './proxy-helpers';

/** Cloudflare's answer for an origin whose host name does not resolve (its page names that host). */
const CLOUDFLARE_1016 = raw('error code: 1016', ['content-type: text/plain; charset=UTF-8'], 530);

async function originHealth(): Promise<{ status: string; detail?: string }> {
  const { body } = await viaWorker('/healthz');
  return (JSON.parse(body) as { components: { origin: { status: string; detail?: string } } }).components
    .origin;
}

/** An answer from a healthy origin, which clears what an earlier test left on `/healthz`. */
async function healthyAnswer(): Promise<void> {
  const { response } = await viaWorker('/echo', { headers: browserHeaders({ accept: 'application/json' }) });
  expect(response.status).toBe(200);
  expect((await originHealth()).status).toBe('ok');
}

describe('proxy: what the origin fetch says about the origin', () => {
  it("Cloudflare's 520-530 for the origin is the origin failing: the worker's 502, not Cloudflare's page", async () => {
    await healthyAnswer();
    const page = await viaWorker(CLOUDFLARE_1016);
    expect(page.response.status).toBe(502);
    expect(page.response.headers.get('retry-after')).toBe('30');
    expect(page.response.headers.get('cache-control')).toBe('no-store');
    expect(page.body).toContain('<h1>This shop is temporarily unavailable</h1>');
    expect(page.body).not.toContain('1016');
    const health = await originHealth();
    expect(health.status).toBe('degraded');
    expect(health.detail).toContain('530');

    for (const status of [520, 521, 522, 523, 524, 525, 526, 527, 530]) {
      const api = await viaWorker(raw('<html>cloudflare</html>', ['content-type: text/html'], status), {
        headers: browserHeaders({ accept: 'application/json' }),
      });
      expect(api.response.status, String(status)).toBe(502);
      expect(JSON.parse(api.body), String(status)).toMatchObject({ error: { code: 'origin_unreachable' } });
    }
  });

  it("the origin's own 503 passes through as it is, and shows on /healthz instead of clearing it", async () => {
    await healthyAnswer();
    const down = await viaWorker(
      raw('<p>Back soon</p>', ['content-type: text/html; charset=utf-8', 'retry-after: 120'], 503),
    );
    expect(down.response.status).toBe(503);
    expect(down.response.headers.get('retry-after')).toBe('120');
    expect(down.body).toBe('<p>Back soon</p>');
    const health = await originHealth();
    expect(health.status).toBe('degraded');
    expect(health.detail).toContain('503');
    // An earlier failure is not cleared by a 5xx (it was: every answer counted as recovery).
    await viaWorker(raw('oops', ['content-type: text/plain'], 500));
    expect((await originHealth()).status).toBe('degraded');
    // A real answer is.
    await healthyAnswer();
  });

  it('a 500 is one broken page more often than a shop that is down: passed on, /healthz unchanged', async () => {
    await healthyAnswer();
    const broken = await viaWorker(raw('oops', ['content-type: text/plain'], 500));
    expect(broken.response.status).toBe(500);
    expect(broken.body).toBe('oops');
    expect((await originHealth()).status).toBe('ok');
  });
});
