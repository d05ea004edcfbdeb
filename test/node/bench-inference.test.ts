/**
 * `npm run bench -- inference` trusts the worker's own clock only where it advances: the bench worker
 * (bench/inference-worker) is stood in for by a stubbed fetch, so no wrangler or workerd starts here.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../bench/support/run-wrangler', () => ({
  runWrangler: async () => ({
    url: 'http://inference.test',
    workerdUrl: () => undefined,
    processGroup: 0,
    stop: async () => {},
  }),
}));
vi.mock('../../bench/support/process-cpu', () => ({ groupCpuMs: () => 0 }));

const { default: inferenceBench } = await import('../../bench/benchmarks/inference');

/** The bench worker's answers, from a clock that does (or does not) advance during computation. */
function stubWorker(clockAdvances: boolean) {
  let loaded = false;
  vi.stubGlobal('fetch', async (input: string) => {
    const { pathname, searchParams } = new URL(input);
    if (pathname === '/clock') return Response.json({ clockAdvances, elapsedMs: clockAdvances ? 200 : 0 });
    if (pathname === '/load') {
      const cold = !loaded;
      loaded = true;
      return Response.json({ sessionMs: clockAdvances ? 40 : 0, cold });
    }
    if (pathname === '/run') {
      const n = Number(searchParams.get('n'));
      const ms = clockAdvances ? 1 : 0;
      return Response.json({ durations: Array(n).fill(ms), batchMeans: Array(Math.ceil(n / 20)).fill(ms) });
    }
    return new Response('not found', { status: 404 });
  });
}

const args = ['--items', '20', '--dim', '4', '--calls', '5'];

describe('inference: the in-worker clock', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('fails the run when the worker clock does not advance (its per-call and session times would read 0 ms)', async () => {
    stubWorker(false);
    await expect(inferenceBench(args)).rejects.toThrow(/clock does not advance/);
  });

  it('reports the in-worker times when it does', async () => {
    stubWorker(true);
    const result = await inferenceBench(args);
    expect(result.rows[0]?.p50_ms).toBe(1);
  });
});
