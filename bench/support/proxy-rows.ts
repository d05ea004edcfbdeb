/**
 * What both proxy benchmarks (`proxy`, `proxy-remote`) measure first and how they table it: the three
 * rows the goal is read from, and each row's latency cells.
 */
import type { LatencyResult } from './latency';
import { type PageCheck, personalizedPage, share } from './page-check';
import { ratio, times } from './proxy-goal';
import { ACCEPT_HTML, BROWSER_UA, CRAWLER_UA } from './shopper';

/**
 * The three rows the goal is read from, in the order it reads them: the page direct from the origin
 * (0), through the worker for a crawler, passed through and checked by `passThroughCheck` (1), and
 * through the worker personalized for the shopper whose request `shopper` is (2).
 */
export function goalTargets(
  originPage: string,
  workerPage: string,
  shopper: Record<string, string>,
  passThroughCheck: PageCheck,
) {
  return [
    { name: 'origin, direct', url: originPage, headers: { accept: ACCEPT_HTML, 'user-agent': BROWSER_UA } },
    {
      name: 'worker, pass-through',
      url: workerPage,
      headers: { accept: ACCEPT_HTML, 'user-agent': CRAWLER_UA },
      check: passThroughCheck,
    },
    { name: 'worker, personalized (warm cache)', url: workerPage, headers: shopper, check: personalizedPage },
  ];
}

/** The columns `latencyCells` fills, in order: the first of both proxy benchmarks' tables. */
export const LATENCY_COLUMNS = [
  'target',
  'p50 ms',
  'p99 ms',
  'TTFB p50 ms',
  'TTFB p99 ms',
  'p50 vs pass-through',
  'unpersonalized',
];

/** One target's latency row, its p50 compared with `passThrough`'s (the row it is measured against). */
export function latencyCells(
  target: { name: string; check?: PageCheck },
  seq: LatencyResult,
  passThrough: LatencyResult | undefined,
): Record<string, string | number> {
  return {
    target: target.name,
    'p50 ms': seq.total.p50,
    'p99 ms': seq.total.p99,
    'TTFB p50 ms': seq.ttfb.p50,
    'TTFB p99 ms': seq.ttfb.p99,
    'p50 vs pass-through': times(ratio(seq.total.p50, passThrough?.total.p50)),
    // Personalized answers without a filled slot (the worker's fallback when its budget ran out).
    unpersonalized: share(target.check, seq.misses, seq.samples),
  };
}
