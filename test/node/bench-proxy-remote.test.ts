/**
 * `npm run bench -- proxy-remote`'s options reach the measurement: the deployed worker and origin are
 * stood in for (the shopper, the origin's page and the measurement itself are mocked), so no request
 * leaves this process.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LatencyResult } from '../../bench/support/latency';

const measureInterleaved = vi.hoisted(() => vi.fn());

vi.mock('../../bench/support/latency', () => ({ measureInterleaved }));
vi.mock('../../bench/support/shopper', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../bench/support/shopper')>()),
  shopperCookie: async () => 'rx_uid=00000000-0000-4000-8000-000000000001',
  personalization: async () => ({ status: 200, cacheControl: 'private, no-store', blocks: 1, items: 4 }),
}));
vi.mock('../../bench/support/page-check', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../bench/support/page-check')>()),
  stablePage: async () => '<html>the origin</html>',
}));

const { default: proxyRemoteBench } = await import('../../bench/benchmarks/proxy-remote');

const result = (p50: number): LatencyResult => ({
  samples: 500,
  check: null,
  misses: 0,
  ttfb: { p50, p99: p50 },
  total: { p50, p90: p50, p99: p50, mean: p50 },
});

const base = ['--worker', 'https://worker.example', '--origin', 'https://shop.example'];

describe('proxy-remote --pause-ms', () => {
  beforeEach(() => {
    measureInterleaved.mockReset();
    measureInterleaved.mockResolvedValue([result(20), result(22), result(25)]);
  });

  it('pauses 5 ms after each request by default, as `proxy` does', async () => {
    const run = await proxyRemoteBench(base);
    expect(measureInterleaved).toHaveBeenCalledTimes(1);
    expect(measureInterleaved.mock.calls[0]?.slice(1)).toEqual([500, 50, 5]);
    expect(run.details?.pauseMs).toBe(5);
    expect(run.title).toMatch(/5 ms apart/);
  });

  it('passes the gap it is given on to the measurement', async () => {
    await proxyRemoteBench([...base, '--pause-ms', '0', '--samples', '40']);
    expect(measureInterleaved.mock.calls[0]?.slice(1)).toEqual([40, 50, 0]);
    measureInterleaved.mockClear();
    await proxyRemoteBench([...base, '--pause-ms=12']);
    expect(measureInterleaved.mock.calls[0]?.slice(1)).toEqual([500, 50, 12]);
  });

  it('refuses a negative or non-numeric gap before measuring', async () => {
    await expect(proxyRemoteBench([...base, '--pause-ms', '-1'])).rejects.toThrow(/--pause-ms/);
    await expect(proxyRemoteBench([...base, '--pause-ms', 'soon'])).rejects.toThrow(/--pause-ms/);
    expect(measureInterleaved).not.toHaveBeenCalled();
  });
});
