/** Issue 5's goal for the proxy benchmarks (`proxy`, `proxy-remote`): how it is computed and said. */

/** Personalized p50 at most this many times pass-through's. */
export const GOAL_RATIO = 1.3;

export const ratio = (value: number | undefined, base: number | undefined) =>
  value !== undefined && base ? value / base : Number.NaN;

export const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');

/** The goal's line under a table: the ratio, met or not, and how much later the first byte came. */
export function goalNote(p50Ratio: number, ttfbDelayMs: number, ttfbRatio?: number): string {
  const firstByte =
    ttfbDelayMs >= 0 ? `${ttfbDelayMs.toFixed(2)} ms later` : `${(-ttfbDelayMs).toFixed(2)} ms earlier`;
  return (
    `Goal: personalized p50 ≤ ${GOAL_RATIO}× pass-through: ${times(p50Ratio)} (${p50Ratio <= GOAL_RATIO ? 'met' : 'NOT met'}); ` +
    `first byte ${firstByte} than pass-through${ttfbRatio === undefined ? '' : ` (${times(ttfbRatio)})`}.`
  );
}
