import { describe, expect, it } from 'vitest';
import { forecastLevel } from './smoothing';

describe('forecastLevel: simple exponential smoothing, α by one-step-ahead error', () => {
  it('a step up: the fastest α of the grid wins and the level nearly reaches the new demand', () => {
    // [0, 10, 10, 10], level₀ = 0. One-step errors 10, 10(1−α), 10(1−α)²: the MSE
    // 100(1 + (1−α)² + (1−α)⁴)/3 falls as α grows, so α = 0.7 (the grid's largest);
    // level₃ = 10(1 − 0.3³) = 9.73.
    const { level, alpha } = forecastLevel([0, 10, 10, 10]);
    expect(alpha).toBe(0.7);
    expect(level).toBeCloseTo(9.73, 10);
  });

  it('alternating demand: an α inside the grid wins, and the level is its smoothed value', () => {
    // [4, 0, 4, 0], level₀ = 4. Errors 4, 4α, 4(α + (1−α)²), so MSE ∝ 1 + α² + (α + (1−α)²)²:
    // α 0.1 → 1.8381, 0.2 → 1.7456, 0.3 → 1.7141, 0.5 → 1.8125, 0.7 → 2.1141. α = 0.3, and
    // level₃ = (1−α)·4(α + (1−α)²) = 0.7 · 4 · 0.79 = 2.212.
    const { level, alpha } = forecastLevel([4, 0, 4, 0]);
    expect(alpha).toBe(0.3);
    expect(level).toBeCloseTo(2.212, 10);
  });

  it('a single week is its own forecast; an empty series forecasts nothing', () => {
    expect(forecastLevel([5]).level).toBe(5);
    expect(forecastLevel([]).level).toBe(0);
  });
});
