/**
 * Simple exponential smoothing for weekly demand: level ← α·y + (1−α)·level, the forecast for every
 * future week is the last level (a flat line: honest for intermittent retail demand, where trend
 * and season cannot be told from noise on a year of data). α is chosen per series from a small
 * grid by the one-step-ahead squared error.
 */

const ALPHAS = [0.1, 0.2, 0.3, 0.5, 0.7];

/** Final level and the one-step-ahead mean squared error for one α. */
function smooth(series: ArrayLike<number>, alpha: number): { level: number; mse: number } {
  let level = series[0] ?? 0;
  let sse = 0;
  for (let t = 1; t < series.length; t++) {
    const y = series[t] ?? 0;
    sse += (y - level) ** 2;
    level = alpha * y + (1 - alpha) * level;
  }
  return { level, mse: series.length > 1 ? sse / (series.length - 1) : 0 };
}

/** The flat forecast of a weekly series and the α that produced it. */
export function forecastLevel(series: ArrayLike<number>): { level: number; alpha: number } {
  let best = { level: 0, alpha: ALPHAS[0] ?? 0.1, mse: Number.POSITIVE_INFINITY };
  for (const alpha of ALPHAS) {
    const r = smooth(series, alpha);
    if (r.mse < best.mse) best = { ...r, alpha };
  }
  return { level: Math.max(0, best.level), alpha: best.alpha };
}
