/**
 * `/healthz` `origin` (proxy mode): one failed origin answer is `degraded` (a blip, or one page's
 * gateway error), but an origin whose every answer fails makes every proxied page a 502: the shop is
 * down for shoppers, and an uptime monitor that checks the status code must see it (`down`, 503).
 * Before, it stayed `degraded` with 200 however long every page failed.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../worker/src/app';
import type { Env } from '../../worker/src/env';
import {
  type ComponentHealth,
  ORIGIN_DOWN_AFTER,
  reportFailure,
  reportRecovery,
} from '../../worker/src/health';

const app = createApp();
const PROXY = { ...(env as unknown as Env), ORIGIN_URL: 'https://origin.example' };

async function healthz() {
  const ctx = createExecutionContext();
  const response = await app.request('https://rx.test/healthz', {}, PROXY, ctx);
  await waitOnExecutionContext(ctx);
  const body = (await response.json()) as { status: string; components: Record<string, ComponentHealth> };
  return { code: response.status, status: body.status, origin: body.components.origin };
}

afterEach(() => reportRecovery('origin'));

describe('/healthz origin', () => {
  it(`is degraded after a failed answer, down (503) after ${ORIGIN_DOWN_AFTER} in a row, ok after an answer`, async () => {
    const before = await healthz();
    expect(before.origin).toEqual({ status: 'ok' });
    // Whatever else this test environment reports, nothing in it is down: a 503 below is the origin's.
    expect(before.code).toBe(200);

    for (let failed = 1; failed < ORIGIN_DOWN_AFTER; failed += 1) {
      reportFailure('origin', new Error('Cloudflare answered 522 in place of the origin'));
    }
    const degraded = await healthz();
    expect(degraded.origin?.status).toBe('degraded');
    expect(degraded.code).toBe(200);

    reportFailure('origin', new Error('Cloudflare answered 522 in place of the origin'));
    const down = await healthz();
    expect(down.origin).toMatchObject({
      status: 'down',
      detail: expect.stringContaining(`the last ${ORIGIN_DOWN_AFTER} origin answers failed`),
    });
    expect(down.origin?.detail).toContain('522');
    expect(down.status).toBe('down');
    expect(down.code).toBe(503);

    // One answer from the origin (below 500) ends the run: it serves pages again.
    reportRecovery('origin');
    expect((await healthz()).origin).toEqual({ status: 'ok' });
  });

  it('a failure between answers starts the count afresh: failures spread among answers stay degraded', async () => {
    for (let round = 0; round < ORIGIN_DOWN_AFTER * 2; round += 1) {
      reportFailure('origin', new Error('the origin answered 502 (passed on to shoppers)'));
      if (round % 2 === 1) reportRecovery('origin');
    }
    reportFailure('origin', new Error('the origin answered 502 (passed on to shoppers)'));
    expect((await healthz()).origin?.status).toBe('degraded');
  });
});
