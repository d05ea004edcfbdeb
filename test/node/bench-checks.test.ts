/**
 * The benchmarks' own checks (bench/support): what fails a run whose figures would not be what its
 * table says. No benchmark runs here; the checks are pure functions, and `measureInterleaved` runs
 * against a local HTTP server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  answerCheck,
  assertRowChecked,
  cachedWorkerScenarios,
  mismatch,
  uncachedWorkerScenarios,
} from '../../bench/support/api-scenarios';
import { measureInterleaved } from '../../bench/support/latency';
import {
  assertLiveCounted,
  benchOrders,
  isBenchOrder,
  type LiveCounts,
  waitForLiveCounts,
} from '../../bench/support/live-counts';
import { assertLoadChecked, type LoadResult } from '../../bench/support/load';
import { assertOutboxAccounting } from '../../bench/support/outbox-accounting';
import {
  assertMissShare,
  MAX_MISS_SHARE,
  MAX_MISS_SHARE_SATURATED,
  personalizedPage,
  samePageAsOrigin,
  unpersonalizedPage,
} from '../../bench/support/page-check';
import { assertSessionLoads } from '../../bench/support/session-loads';
import { pauseMsOption } from '../../bench/support/shopper';
import { trainerReportedUsage } from '../../bench/support/trainer-command';

describe('outbox accounting', () => {
  const clean = { sent: 26_000, stored: 26_000, distinct: 26_000, outageEvents: 13_000, heldWaiting: 13_000 };

  it('passes a run that stored every event once and held every outage event', () => {
    expect(() => assertOutboxAccounting(clean)).not.toThrow();
  });

  it('fails one loss and one duplicate, which still make the 26,000 the stored count waits for', () => {
    expect(() => assertOutboxAccounting({ ...clean, distinct: 25_999 })).toThrow(/1 of 26000 events lost/);
    expect(() => assertOutboxAccounting({ ...clean, distinct: 25_999 })).toThrow(/1 duplicate/);
  });

  it('fails a duplicate alone (the stored count passes 26,000)', () => {
    expect(() => assertOutboxAccounting({ ...clean, stored: 26_001 })).toThrow(/1 duplicate/);
  });

  it('fails an outage whose events the outbox did not all hold (a refusal also answers 503)', () => {
    expect(() => assertOutboxAccounting({ ...clean, heldWaiting: 12_950 })).toThrow(
      /held 12950 of the 13000 events/,
    );
  });
});

describe('ingest live counters', () => {
  it('expects the benchmark’s orders: every 50th event, 400 of 20,000', () => {
    expect(benchOrders(20_000)).toBe(400);
    expect(benchOrders(20_001)).toBe(401);
    expect([0, 1, 49, 50].map(isBenchOrder)).toEqual([true, false, false, true]);
  });

  it('fails a shortfall or a double count of events or orders', () => {
    const expected = { events: 20_000, orders: 400 };
    expect(() => assertLiveCounted(expected, expected)).not.toThrow();
    expect(() => assertLiveCounted({ events: 19_950, orders: 400 }, expected)).toThrow(/19950 events/);
    expect(() => assertLiveCounted({ events: 20_050, orders: 400 }, expected)).toThrow(/20050 events/);
    expect(() => assertLiveCounted({ events: 20_000, orders: 401 }, expected)).toThrow(/401 orders/);
  });

  /** A fake clock and a counter that returns `reads` in turn (the last one from then on). */
  function fake(reads: LiveCounts[]) {
    let time = 0;
    let index = 0;
    return {
      read: async () => reads[Math.min(index++, reads.length - 1)] as LiveCounts,
      wait: {
        timeoutMs: 30_000,
        pollMs: 250,
        settleMs: 3_000,
        now: () => time,
        sleep: async (ms: number) => {
          time += ms;
        },
      },
      reads: () => index,
    };
  }
  const expected = { events: 20_000, orders: 400 };

  it('does not stop on the first read that reaches the events: a count still growing shows', async () => {
    const counter = fake([
      { events: 19_000, orders: 380 },
      { events: 20_000, orders: 400 },
      { events: 20_050, orders: 401 },
    ]);
    const counted = await waitForLiveCounts(counter.read, expected, counter.wait);
    expect(counted).toEqual({ events: 20_050, orders: 401 });
    expect(() => assertLiveCounted(counted, expected)).toThrow();
  });

  it('waits for the orders too, not only the events', async () => {
    const counter = fake([
      { events: 20_000, orders: 390 },
      { events: 20_000, orders: 400 },
    ]);
    expect(await waitForLiveCounts(counter.read, expected, counter.wait)).toEqual(expected);
  });

  it('stops at once when a count passes the expected one (it can only grow)', async () => {
    const counter = fake([{ events: 20_001, orders: 300 }]);
    expect(await waitForLiveCounts(counter.read, expected, counter.wait)).toEqual({
      events: 20_001,
      orders: 300,
    });
    expect(counter.reads()).toBe(1);
  });

  it('returns the shortfall after the timeout, for the assertion to fail', async () => {
    const counter = fake([{ events: 19_999, orders: 400 }]);
    const counted = await waitForLiveCounts(counter.read, expected, counter.wait);
    expect(counted.events).toBe(19_999);
    expect(() => assertLiveCounted(counted, expected)).toThrow();
  });
});

describe('unpersonalized pages in the proxy benchmarks', () => {
  it('fails a counted check past the bound, never an uncounted one', () => {
    expect(() => assertMissShare('row', personalizedPage, 5, 500, MAX_MISS_SHARE)).not.toThrow();
    expect(() => assertMissShare('row', personalizedPage, 6, 500, MAX_MISS_SHARE)).toThrow(
      /row: 6 of 500 \(1.2%\) answers were not personalized/,
    );
    // Uncounted checks fail on any miss elsewhere (assertLoadChecked, isMiss), not here.
    expect(() => assertMissShare('row', unpersonalizedPage, 500, 500, MAX_MISS_SHARE)).not.toThrow();
    expect(() => assertMissShare('row', undefined, 500, 500, MAX_MISS_SHARE)).not.toThrow();
  });

  const load = (mismatches: number, requests: number): LoadResult => ({
    requestsPerSecond: requests / 10,
    latencyMs: { p50: 1, p90: 1, p99: 1, max: 1, mean: 1 },
    requests,
    non2xx: 0,
    statusCodes: { 200: requests },
    errors: 0,
    timeouts: 0,
    mismatches,
    bytesPerSecond: 1,
  });

  it('under saturated load, passes the budgets saturation runs out (3 of 4,071) and fails a broken row', () => {
    expect(MAX_MISS_SHARE_SATURATED).toBe(0.05);
    expect(() => assertLoadChecked('personalized', load(3, 4_071), personalizedPage)).not.toThrow();
    expect(() => assertLoadChecked('personalized', load(204, 4_071), personalizedPage)).toThrow(
      /personalized \(under load\): 204 of 4071/,
    );
    expect(() => assertLoadChecked('personalized', load(4_071, 4_071), personalizedPage)).toThrow();
  });

  describe('sequential latency rows (measureInterleaved)', () => {
    let server: http.Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    });

    /** A page server whose answer number `n` (from 1) is personalized unless `fallback(n)`. */
    async function pages(fallback: (n: number) => boolean): Promise<string> {
      let n = 0;
      server = http.createServer((_, response) => {
        n += 1;
        response.end(
          fallback(n) ? '<html><p>original</p></html>' : '<html><section class="rx-block">x</section></html>',
        );
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/p`;
    }

    it('fails a target whose answers are over 1 % fallback pages', async () => {
      const url = await pages((n) => n % 10 === 0);
      await expect(
        measureInterleaved([{ name: 'personalized', url, headers: {}, check: personalizedPage }], 100, 0),
      ).rejects.toThrow(/personalized: 10 of 100 \(10.0%\) answers were not personalized/);
    });

    it('counts and keeps a share up to 1 %', async () => {
      const url = await pages((n) => n === 50);
      const [result] = await measureInterleaved(
        [{ name: 'personalized', url, headers: {}, check: personalizedPage }],
        100,
        0,
      );
      expect(result?.misses).toBe(1);
    });
  });
});

describe('pass-through pages: the origin’s byte for byte', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A server answering every request with `page`'s bytes. */
  async function serve(page: Buffer): Promise<string> {
    server = http.createServer((_, response) => response.end(page));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/p`;
  }

  it('passes the same bytes when the page starts with a UTF-8 byte order mark', async () => {
    // fetch's text() drops a leading BOM, the measured bodies keep it: the same bytes must still match.
    const url = await serve(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<html>é</html>')]));
    const check = await samePageAsOrigin(url, {});
    expect(check.ok('\uFEFF<html>é</html>')).toBe(true);
    const [result] = await measureInterleaved([{ name: 'pass-through', url, headers: {}, check }], 3, 0);
    expect(result?.samples).toBe(3);
  });

  it('still fails a page whose bytes differ', async () => {
    const url = await serve(Buffer.from('<html>é</html>'));
    const check = await samePageAsOrigin(url, {});
    expect(check.ok('\uFEFF<html>é</html>')).toBe(false);
    expect(check.ok('<html>e</html>')).toBe(false);
    expect(check.ok('<html>é</html>')).toBe(true);
  });
});

describe('proxy benchmarks: --pause-ms', () => {
  it('defaults to 5 ms and takes 0 or more', () => {
    expect(pauseMsOption(undefined)).toBe(5);
    expect(pauseMsOption('0')).toBe(0);
    expect(pauseMsOption('12.5')).toBe(12.5);
    for (const bad of ['-1', 'x', '']) expect(() => pauseMsOption(bad)).toThrow(/--pause-ms/);
  });
});

describe('api benchmark rows', () => {
  const seeded = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
  let next = 0;
  const rows = cachedWorkerScenarios('rx_uid=x', () => seeded[next++ % seeded.length] ?? '');
  const pageOnly = rows.filter((row) =>
    /first-time shopper|script mode first call|tracking=off/.test(row.name),
  );

  it('expects the memo’s cached: true from the three page-only rows and no Redis command', () => {
    expect(pageOnly).toHaveLength(3);
    for (const row of pageOnly) {
      expect(row.expect, row.name).toEqual({ cached: true });
      expect(row.noRedis, row.name).toBe(true);
    }
  });

  it('asks each seeded shopper in turn in the full-history miss row, and expects a model-run miss', () => {
    const full = rows.find((row) => row.name.includes('full history'));
    expect(full?.expect).toEqual({ cached: false, modelRun: true });
    expect([full?.perRequestHeaders?.(), full?.perRequestHeaders?.()]).toEqual(
      seeded.map((id) => ({ cookie: `rx_uid=${id}` })),
    );
  });

  it('holds every row named "no Redis" to none', () => {
    for (const row of [...rows, ...uncachedWorkerScenarios()])
      if (row.name.includes('no Redis')) expect(row.noRedis, row.name).toBe(true);
  });

  it('takes a memo answer and refuses one computed again, in the probes and under load', () => {
    const expected = { cached: true };
    const items = Array.from({ length: 8 }, (_, i) => ({ product_id: `P${i}` }));
    expect(mismatch({ cached: true, items }, expected)).toBeUndefined();
    expect(mismatch({ cached: false, items }, expected)).toMatch(/cached: false/);
    const check = answerCheck(expected);
    expect(check('{"cached":true,"items":[{"product_id":"P1"}]}')).toBe(true);
    expect(check('{"cached":false,"items":[{"product_id":"P1"}]}')).toBe(false);
  });

  it('fails a no-Redis row that cost a Redis command, and only where commands were counted', () => {
    const [row] = pageOnly;
    if (!row) throw new Error('no page-only row');
    const result = { mismatches: 0, requests: 14_000 };
    expect(() => assertRowChecked(row, result, { total: 0, byCommand: {} })).not.toThrow();
    expect(() => assertRowChecked(row, result, undefined)).not.toThrow();
    expect(() => assertRowChecked(row, result, { total: 2, byCommand: { get: 2 } })).toThrow(
      /2 Redis command\(s\) in a row that should cost none \(get 2\)/,
    );
    const warm = rows.find((r) => r.name.includes('warm cache'));
    if (!warm) throw new Error('no warm row');
    expect(() => assertRowChecked(warm, result, { total: 42_000, byCommand: { get: 42_000 } })).not.toThrow();
  });

  it('fails over 1 % of answers that were not the row’s', () => {
    const [row] = pageOnly;
    if (!row) throw new Error('no page-only row');
    expect(() => assertRowChecked(row, { mismatches: 100, requests: 10_000 }, undefined)).not.toThrow();
    expect(() => assertRowChecked(row, { mismatches: 101, requests: 10_000 }, undefined)).toThrow(
      /101 of 10000 answers/,
    );
  });
});

describe('inference session rows', () => {
  it('fails a cold row that timed a warm isolate, or warm rows with a cold load among them', () => {
    const warm = Array.from({ length: 5 }, () => ({ cold: false }));
    expect(() => assertSessionLoads({ cold: true }, warm)).not.toThrow();
    expect(() => assertSessionLoads({ cold: false }, warm)).toThrow(/cold session row timed a warm isolate/);
    expect(() => assertSessionLoads({ cold: true }, [...warm.slice(1), { cold: true }])).toThrow(
      /1 of 5 warm session loads/,
    );
  });
});

describe('train: the trainer’s CPU time and peak RSS', () => {
  it('reads the last line npm run train prints', () => {
    const output =
      'wrote bundle v1 to /tmp/x in 40.1 s:\n  personal.onnx (personal, 10 KiB)\npeak RSS 622 MiB, CPU 50.7 s\n';
    expect(trainerReportedUsage(output)).toEqual({ cpuSeconds: 50.7, peakRssMiB: 622 });
  });

  it('throws when the line is missing or changed, instead of NaN', () => {
    expect(() => trainerReportedUsage('wrote bundle v1\n')).toThrow(/CPU time and peak RSS unknown/);
    expect(() => trainerReportedUsage('peak RSS 622 MB, CPU 50.7 s\n')).toThrow();
    expect(() => trainerReportedUsage('max RSS 622 MiB, CPU time 50.7 s\n')).toThrow();
  });
});
