import { describe, expect, it } from 'vitest';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { pickBest, type ScoredConfig, selectEaseConfig } from './ease-selection';
import { temporalValidation } from './temporal-validation';

const DAY = 86_400_000;

/**
 * Relations that move: in the first 80 days 240 customers buy items of one residue class (i mod 4),
 * later 80 other customers buy items of one block (i div 8). Next purchases follow the new relations,
 * which the old purchases outnumber.
 */
function shiftingTastes(): Interaction[] {
  const random = seededRandom(5);
  const rows: Interaction[] = [];
  const buy = (u: number, item: number, day: number) =>
    rows.push({ user: `u${u}`, item: `i${item}`, time: day * DAY, weight: 1, purchase: true, quantity: 1 });
  for (let u = 0; u < 240; u++)
    for (let n = 0; n < 5; n++) buy(u, (u % 4) + 4 * Math.floor(random() * 8), Math.floor(random() * 80));
  for (let u = 240; u < 320; u++)
    for (let n = 0; n < 8; n++)
      buy(u, 8 * (u % 4) + Math.floor(random() * 8), 80 + Math.floor(random() * 40));
  return rows.sort((a, b) => a.time - b.time);
}

const items = Array.from({ length: 32 }, (_, i) => `i${i}`);

describe('EASE selection on the temporal validation', { timeout: 60_000 }, () => {
  it('ties go to the simpler candidate (earlier in the grids), otherwise the best score wins', () => {
    const c = (ndcg: number, halfLifeDays: number | null, lambda = 10): ScoredConfig => ({
      lambda,
      halfLifeDays,
      popularityExponent: 0,
      ndcg,
    });
    expect(pickBest([c(0.2, null), c(0.2, 30), c(0.1, 90)])).toEqual(c(0.2, null));
    expect(pickBest([c(0.2, null), c(0.21, 30), c(0.1, 90)])).toEqual(c(0.21, 30));
    expect(() => pickBest([])).toThrow(/no EASE candidate/);
  });

  it('scores every configuration of the grids and keeps the one the validation rates best', async () => {
    const v = temporalValidation(shiftingTastes(), items);
    expect(v.users).toBeGreaterThan(20);
    const seen: number[] = [];
    // A scorer that rates each candidate by a fixed pseudo-random number: the choice must follow it.
    const random = seededRandom(3);
    const selection = await selectEaseConfig(
      v,
      { lambdas: [10, 100], halfLives: [null, 30], exponents: [0, 0.25] },
      {},
      async () => {
        const s = random();
        seen.push(s);
        return s;
      },
    );
    expect(selection.scores).toHaveLength(8);
    expect(selection.scores.map((s) => s.ndcg)).toEqual(seen);
    const max = Math.max(...seen);
    expect(selection.best.ndcg).toBe(max);
    const plain = selection.scores.filter((s) => s.halfLifeDays === null && s.popularityExponent === 0);
    expect(selection.plain?.ndcg).toBe(Math.max(...plain.map((s) => s.ndcg)));
    // A pinned dimension is not searched.
    const pinned = await selectEaseConfig(
      v,
      { lambdas: [100], halfLives: [30], exponents: [0] },
      {},
      async () => 0.5,
    );
    expect(pinned.scores).toEqual([{ lambda: 100, halfLifeDays: 30, popularityExponent: 0, ndcg: 0.5 }]);
    expect(pinned.plain).toBeUndefined();
  });

  it('on a tie across the default grids keeps no decay, exponent 0 and the smallest λ', async () => {
    const v = temporalValidation(shiftingTastes(), items);
    const selection = await selectEaseConfig(v, { lambdas: [30, 300] }, {}, async () => 0.5);
    expect(selection.scores).toHaveLength(2 * 3 * 2);
    expect(selection.best).toEqual({ lambda: 30, halfLifeDays: null, popularityExponent: 0, ndcg: 0.5 });
  });

  it('reports as plain EASE the best candidate without decay and without the popularity scale', async () => {
    const v = temporalValidation(shiftingTastes(), items);
    // Scored in grid order: no decay (exponent 0: λ 10, λ 100; exponent 0.25: λ 10, λ 100), then 30 days.
    const scores = [0.1, 0.2, 0.5, 0.3, 0.4, 0.6, 0.45, 0.35];
    let call = 0;
    const selection = await selectEaseConfig(
      v,
      { lambdas: [10, 100], halfLives: [null, 30], exponents: [0, 0.25] },
      {},
      async () => scores[call++] ?? 0,
    );
    expect(selection.plain).toEqual({ lambda: 100, halfLifeDays: null, popularityExponent: 0, ndcg: 0.2 });
    expect(selection.best).toEqual({ lambda: 100, halfLifeDays: 30, popularityExponent: 0, ndcg: 0.6 });
  });

  it('on tastes that move, the served-list validation prefers a fit that fades old purchases', async () => {
    const v = temporalValidation(shiftingTastes(), items);
    const selection = await selectEaseConfig(v, { lambdas: [10], halfLives: [null, 30], exponents: [0] }, {});
    const [plain, faded] = selection.scores;
    expect(plain?.halfLifeDays).toBeNull();
    expect(faded?.ndcg).toBeGreaterThan((plain?.ndcg ?? 1) + 0.02);
    expect(selection.best.halfLifeDays).toBe(30);
  });
});
