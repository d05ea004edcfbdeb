import { env, SELF } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../worker/src/env';
import { outboxHealth, registerOutboxHealth } from '../../worker/src/events/outbox';
import {
  componentHealth,
  healthReport,
  registerHealthProbe,
  reportFailure,
  reportRecovery,
} from '../../worker/src/health';
import { log } from '../../worker/src/log';
import { BundleRegistry } from '../../worker/src/models';
import { call } from './edge-api-support';

/** The test config turns the reuse off (HEALTH_PROBE_CACHE_SECONDS=0); these tests use the default. */
const withCache: Env = { ...(env as unknown as Env), HEALTH_PROBE_CACHE_SECONDS: '5' };

const UPSTASH_ERROR = 'ERR wrong type, command was: ["set","rx:test:rec:3f2a9c:home","s3cret-value"]';
const URL_ERROR = 'connect failed: https://admin:hunter2@store.example.net/bundles';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('/healthz reuses an active probe for a few seconds per isolate', () => {
  it('one probe for a flood of reports; a failure real traffic reports shows at once; probed again after 5 s', async () => {
    let active = 0;
    let passive = 0;
    registerHealthProbe(
      'test-active',
      () => {
        active += 1;
        return componentHealth('test-active', true);
      },
      { active: true },
    );
    registerHealthProbe('test-passive', () => {
      passive += 1;
      return { status: 'ok' };
    });
    try {
      await Promise.all(Array.from({ length: 20 }, () => healthReport(withCache)));
      for (let i = 0; i < 10; i++) await healthReport(withCache);
      expect(active).toBe(1);
      expect(passive).toBe(30);

      reportFailure('test-active', new Error(UPSTASH_ERROR));
      const failed = await healthReport(withCache);
      expect(active).toBe(2);
      expect(failed.components['test-active']).toMatchObject({ status: 'degraded' });
      expect(failed.components['test-active']?.detail).not.toContain('s3cret');

      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 5_500);
      await healthReport(withCache);
      expect(active).toBe(3);
    } finally {
      reportRecovery('test-active');
      registerHealthProbe('test-active', () => ({ status: 'ok' }));
    }
  }, 60_000);

  it('the outbox: one status RPC for many /healthz requests, and its last error without command or credentials', async () => {
    registerOutboxHealth();
    let rpcs = 0;
    const outbox = {
      idFromName: (name: string) => name,
      get: () => ({
        status: async () => {
          rpcs += 1;
          return {
            waiting: 2,
            oldestHeldAt: '2026-11-29T10:00:00.000Z',
            nextAttemptAt: null,
            failedAttempts: 1,
            lastError: `Error: ${UPSTASH_ERROR} via ${URL_ERROR}`,
          };
        },
      }),
    } as unknown as Env['EVENT_OUTBOX'];
    const overrides = { EVENT_OUTBOX: outbox, HEALTH_PROBE_CACHE_SECONDS: '5' };
    const answers = await Promise.all(Array.from({ length: 10 }, () => call('/healthz', {}, overrides)));
    for (const answer of answers) expect(answer.status).toBe(200);
    expect(rpcs).toBe(1);
    const body = (await answers[0]?.json()) as {
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(body.components.outbox?.status).toBe('degraded');
    expect(body.components.outbox?.detail).toContain('1 failed: Error: ERR wrong type');
    expect(body.components.outbox?.detail).not.toMatch(/s3cret|hunter2|command was/);
  });

  it('requests that arrive while another request probes get its answer, not a runtime 500', async () => {
    // Over HTTP (SELF) each request runs in a request context of its own, as in production. `env` is
    // the object every such request gets: the period is set on it, and put back below.
    const shared = env as unknown as Record<string, string | undefined>;
    const period = shared.HEALTH_PROBE_CACHE_SECONDS;
    let rpcs = 0;
    // The real probe (a status RPC to the outbox Durable Object), counted.
    registerHealthProbe(
      'outbox',
      (probeEnv) => {
        rpcs += 1;
        return outboxHealth(probeEnv);
      },
      { active: true },
    );
    shared.HEALTH_PROBE_CACHE_SECONDS = '5';
    try {
      // Each round, one request probes and nine wait for its answer. When they awaited its promise,
      // workerd cancelled the nine ("code had hung"; the runtime's own 500 over HTTP), here from the
      // first rounds on, in a file of its own from about the 20th: so it runs 30 rounds, and stops at
      // the first failure. (Their continuations then ran outside their own requests and failed there, and
      // the test runner hung on reporting it: a failure here may not end the run.)
      const ROUNDS = 30;
      for (let round = 0; round < ROUNDS; round++) {
        reportRecovery('outbox'); // a new period: the next report probes again
        const answers = await Promise.allSettled(
          Array.from({ length: 10 }, () => SELF.fetch('http://worker.test/healthz')),
        );
        for (const answer of answers) if (answer.status === 'fulfilled') await answer.value.body?.cancel();
        const failures = answers
          .filter((answer) => answer.status === 'rejected' || answer.value.status !== 200)
          .map((answer) => (answer.status === 'rejected' ? String(answer.reason) : answer.value.status));
        expect(failures, `round ${round}`).toEqual([]);
      }
      expect(rpcs).toBe(ROUNDS); // still one status RPC per period
    } finally {
      shared.HEALTH_PROBE_CACHE_SECONDS = period;
      registerOutboxHealth();
    }
  }, 120_000);
});

describe('no command text or credentials from an error reach /healthz or the logs', () => {
  it('a probe that throws', async () => {
    registerHealthProbe('test-throws', () => {
      throw new Error(URL_ERROR);
    });
    try {
      const report = await healthReport(env as unknown as Env);
      expect(report.components['test-throws']?.status).toBe('down');
      expect(report.components['test-throws']?.detail).toContain('https://…@store.example.net');
      expect(report.components['test-throws']?.detail).not.toContain('hunter2');
    } finally {
      registerHealthProbe('test-throws', () => ({ status: 'ok' }));
    }
  });

  it("the models' last failure (an unreadable store)", async () => {
    const failing = {
      get: async () => {
        throw new Error(`${URL_ERROR}, command was: ["get","current.json"]`);
      },
    } as unknown as R2Bucket;
    const registry = new BundleRegistry();
    const health = await registry.health({ ...(env as unknown as Env), MODEL_STORE: failing });
    expect(health.status).toBe('down');
    expect(health.detail).toContain('model store unreadable');
    expect(health.detail).not.toMatch(/hunter2|command was/);
  });

  it('log lines keep the kind of an error, not the command or credentials it quotes', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => {
      lines.push(line);
    });
    log('error', 'cache_failed', { error: new Error(UPSTASH_ERROR) });
    log('error', 'store_failed', { error: new Error(URL_ERROR) });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('ERR wrong type');
    expect(lines.join('\n')).not.toMatch(/s3cret|hunter2|command was/);
  });
});
