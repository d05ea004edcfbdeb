/**
 * `/healthz` is public and asked by uptime monitors with a timeout of their own: a slow dependency
 * must cost it one probe's deadline, not one per component that asks it, and what it shows of a DNS
 * failure must not name the server (docs/api.md "/healthz").
 */
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { registerConsumerHealth } from '../../worker/src/consumer';
import { forgetWriterStatus } from '../../worker/src/consumer/health-probe';
import type { Env } from '../../worker/src/env';
import { healthReport, publicDetail, registerHealthProbe, reportRecovery } from '../../worker/src/health';

const workerEnv = env as unknown as Env;
interface NodeDns {
  promises: { resolveSrv(name: string): Promise<unknown> };
}

const CONSUMER_COMPONENTS = ['mongodb', 'activity', 'live_counters'];

afterEach(() => {
  for (const component of CONSUMER_COMPONENTS) reportRecovery(component);
  forgetWriterStatus();
});

describe('a hung event writer object', () => {
  it('is asked once per report, for mongodb, activity and live_counters together', async () => {
    let statusCalls = 0;
    const hung = {
      status: () => {
        statusCalls += 1;
        return new Promise<never>(() => undefined);
      },
    };
    const writer = { idFromName: () => ({}), get: () => hung } as unknown as Env['EVENT_WRITER'];
    registerConsumerHealth();
    for (const component of CONSUMER_COMPONENTS) reportRecovery(component);
    forgetWriterStatus();
    const report = await healthReport({
      ...workerEnv,
      EVENT_WRITER: writer,
      // Configured, so activity and live_counters ask the writer what consumers told it.
      UPSTASH_REDIS_REST_URL: 'https://upstash.invalid',
      UPSTASH_REDIS_REST_TOKEN: 'token',
      HEALTH_PROBE_CACHE_SECONDS: '5',
    });
    // Asked one after the other, each probe found the previous ask over a second old (it had waited out
    // its 2 s deadline) and asked again: three RPCs, and /healthz waited three deadlines in a row.
    expect(statusCalls).toBe(1);
    expect(report.components.mongodb).toMatchObject({
      status: 'degraded',
      detail: expect.stringContaining('event writer status unavailable'),
    });
  }, 20_000);

  it('does not add its wait to another slow probe: the probes of one report run together', async () => {
    const started: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Two probes that each wait for the other to have started: run one after the other, the first
    // never sees the second start and the report never ends (the test times out).
    for (const name of ['test-slow-a', 'test-slow-b']) {
      registerHealthProbe(name, async () => {
        started.push(name);
        if (started.length === 2) release();
        await gate;
        return { status: 'ok' };
      });
    }
    try {
      const report = await healthReport({ ...workerEnv, HEALTH_PROBE_CACHE_SECONDS: '5' });
      expect(report.components['test-slow-a']).toEqual({ status: 'ok' });
      expect(report.components['test-slow-b']).toEqual({ status: 'ok' });
    } finally {
      for (const name of ['test-slow-a', 'test-slow-b']) registerHealthProbe(name, () => ({ status: 'ok' }));
    }
  }, 10_000);
});

describe('a DNS failure on /healthz', () => {
  it("names no server, whatever DNS error code workerd's resolver gives", async () => {
    // workerd's node:dns (nodejs_compat); the worker's types do not declare Node's modules.
    const dns = ((await import('node:dns' as string)) as NodeDns).promises;
    const name = '_mongodb._tcp.cluster0.abcde.mongodb.net';
    const realFetch = globalThis.fetch;
    // workerd resolves by DNS over HTTPS: a refused or failed answer becomes EBADRESP / EBADQUERY.
    globalThis.fetch = async () => new Response('unavailable', { status: 503 });
    let error: unknown;
    try {
      await dns.resolveSrv(name);
    } catch (caught) {
      error = caught;
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(String(error)).toContain(`querySRV EBADRESP ${name}`);
    const shown = publicDetail(String(error));
    expect(shown).toContain('querySRV EBADRESP <host>');
    expect(shown).not.toContain('abcde');
    for (const text of [
      'queryTxt ETIMEOUT cluster0.abcde.mongodb.net',
      'querySrv ECONNREFUSED _mongodb._tcp.cluster0.abcde.mongodb.net',
      'getaddrinfo ENOTFOUND cluster0.abcde.mongodb.net',
    ]) {
      expect(publicDetail(`MongoServerSelectionError: ${text}`)).not.toContain('abcde');
    }
  });
});
