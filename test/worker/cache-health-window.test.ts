/**
 * `/healthz` judges the cache by the share of its lookups of the last minute that failed or came late
 * (health.ts OUTCOME_WINDOW_MS), not by the last one: one lookup on time used to clear any failure,
 * and late ones counted only three in a row, so a cache answering late, late, on time, over and over
 * (two lookups in three falling back) read `ok`.
 */
import { describe, expect, it } from 'vitest';
import { CacheTimeoutError } from '../../worker/src/cache/redis-client';
import {
  componentHealth,
  DEGRADED_SHARE,
  LATE_BEFORE_DEGRADED,
  OUTCOME_WINDOW_MS,
  reportOutcome,
} from '../../worker/src/health';
import { call, newShopper, provided, recommend } from './edge-api-support';

const late = new CacheTimeoutError(50);
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

describe('a component judged over the last minute', () => {
  it('late, late, on time, repeating: degraded, with the counts', () => {
    const component = 'window-pattern';
    for (let i = 0; i < 6; i++) {
      reportOutcome(component, i % 3 === 2 ? 'ok' : 'late', late, T0 + i * 1_000);
    }
    const health = componentHealth(component, true, T0 + 6_000);
    expect(health.status).toBe('degraded');
    expect(health.detail).toMatch(/^0 failed and 4 late of 6 in the last minute; last: .*50 ms/);
    expect(health.lastFailureAt).toBe(new Date(T0 + 4_000).toISOString());
  });

  it('a failure, then a lookup on time: still degraded (one of two lookups failed)', () => {
    const component = 'window-failure';
    reportOutcome(component, 'failed', new Error('ECONNRESET'), T0);
    reportOutcome(component, 'ok', undefined, T0 + 100);
    const health = componentHealth(component, true, T0 + 200);
    expect(health.status).toBe('degraded');
    expect(health.detail).toBe('1 failed and 0 late of 2 in the last minute; last: Error: ECONNRESET');
  });

  it(`one or two late lookups alone are no outage (a busy fresh isolate has them); ${LATE_BEFORE_DEGRADED} are`, () => {
    const component = 'window-cold-start';
    for (const count of [1, 2, 3]) {
      reportOutcome(component, 'late', late, T0 + count);
      const health = componentHealth(component, true, T0 + 10);
      expect(health.status, `${count} late`).toBe(count < LATE_BEFORE_DEGRADED ? 'ok' : 'degraded');
      if (count < LATE_BEFORE_DEGRADED) {
        expect(health.detail).toBe(
          `0 failed and ${count} late of ${count} in the last minute; degraded from 20% (with a failure, or 3 late)`,
        );
      }
    }
  });

  it(`recovers once fewer than ${DEGRADED_SHARE * 100}% of the minute's lookups went wrong, or they are over a minute old`, () => {
    const component = 'window-recovery';
    for (let i = 0; i < 4; i++) reportOutcome(component, 'late', late, T0 + i);
    reportOutcome(component, 'failed', new Error('ECONNRESET'), T0 + 4);
    expect(componentHealth(component, true, T0 + 5).status).toBe('degraded');
    // 5 of 25 (20%): still degraded; 5 of 26: ok, with the counts.
    for (let i = 0; i < 20; i++) reportOutcome(component, 'ok', undefined, T0 + 10 + i);
    expect(componentHealth(component, true, T0 + 100).status).toBe('degraded');
    reportOutcome(component, 'ok', undefined, T0 + 101);
    expect(componentHealth(component, true, T0 + 102)).toEqual({
      status: 'ok',
      detail: '1 failed and 4 late of 26 in the last minute; degraded from 20% (with a failure, or 3 late)',
    });

    // Another isolate's story: all wrong, then nothing for a minute: ok again, nothing to show.
    const quiet = 'window-aged';
    for (let i = 0; i < 5; i++) reportOutcome(quiet, 'failed', new Error('ECONNREFUSED'), T0 + i);
    expect(componentHealth(quiet, true, T0 + 10).status).toBe('degraded');
    expect(componentHealth(quiet, true, T0 + OUTCOME_WINDOW_MS + 10_000)).toEqual({ status: 'ok' });
    // A lookup after that counts alone.
    reportOutcome(quiet, 'ok', undefined, T0 + OUTCOME_WINDOW_MS + 11_000);
    expect(componentHealth(quiet, true, T0 + OUTCOME_WINDOW_MS + 12_000)).toEqual({ status: 'ok' });
  });

  it('keeps a fixed amount of state however many lookups it counts', () => {
    const component = 'window-memory';
    for (let i = 0; i < 100_000; i++)
      reportOutcome(component, i % 10 === 0 ? 'late' : 'ok', late, T0 + i * 10);
    // 100,000 lookups over 1,000 s; the last minute's 6,000 (600 late: 10%) are what counts.
    const health = componentHealth(component, true, T0 + 1_000_000);
    expect(health.status).toBe('ok');
    expect(health.detail).toMatch(/^0 failed and (5\d\d|600) late of (5\d\d\d|6000) in the last minute/);
  });
});

describe('the cache through the API (this file has an isolate of its own)', () => {
  interface Health {
    components: Record<string, { status: string; detail?: string }>;
  }
  const health = async () => ((await (await call('/healthz')).json()) as Health).components.cache;

  it('a cache late twice in every three lookups reads degraded, and ok once its lookups are on time', async () => {
    const slow = { UPSTASH_REDIS_REST_URL: provided().slowUpstashUrl, CACHE_BUDGET_MS: '50' };
    const shopper = await newShopper();
    const query = 'placement=home&limit=2';
    for (const round of [1, 2]) {
      await recommend(query, { cookie: shopper.cookie }, slow);
      await recommend(query, { cookie: shopper.cookie }, slow);
      // On time: before, this one lookup cleared the two late ones.
      const { response } = await recommend(query, { cookie: shopper.cookie });
      expect(response.status).toBe(200);
      const cache = await health();
      // Two late lookups alone are no outage yet (LATE_BEFORE_DEGRADED); four of six are.
      expect(cache?.status, `round ${round}`).toBe(round === 1 ? 'ok' : 'degraded');
      expect(cache?.detail).toMatch(
        new RegExp(`^0 failed and ${2 * round} late of ${3 * round} in the last minute`),
      );
    }
    // The cache answers in time again: once the late ones are under 20% of the minute's lookups, ok.
    for (let i = 0; i < 15; i++) await recommend(query, { cookie: shopper.cookie });
    const recovered = await health();
    expect(recovered?.status).toBe('ok');
    expect(recovered?.detail).toMatch(/^0 failed and 4 late of 21 in the last minute/);
  });
});
