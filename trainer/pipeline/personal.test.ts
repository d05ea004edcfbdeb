import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { temporalValidation } from '../models/temporal-validation';
import { tasteGroupShoppers } from '../test-support/taste-groups';
import { MIN_VALIDATION_CUSTOMERS, type PersonalData, trainPersonal } from './personal';

const DAY = 86_400_000;

/** Taste-group shoppers whose purchases are spread over 100 days, in time order. */
function timedShoppers(users: number, noise: number): Interaction[] {
  const random = seededRandom(9);
  return tasteGroupShoppers(users, noise, 5)
    .map((it) => ({ ...it, time: Math.floor(random() * 100) * DAY }))
    .sort((a, b) => a.time - b.time);
}

const data = (interactions: Interaction[]): PersonalData => ({
  byUser: aggregate(interactions),
  interactions,
});

describe('personal auto on the temporal validation', { timeout: 120_000 }, () => {
  it("scores both candidates on the customers' next purchases after the cut-off and records the choice", async () => {
    const d = data(timedShoppers(300, 0.05));
    const v = temporalValidation(d.interactions, d.byUser.items);
    expect(v.users).toBeGreaterThan(50);
    const lines: string[] = [];
    const result = await trainPersonal(d, { hidden: 16, epochs: 4 }, (l) => lines.push(l));
    const { params, metrics } = result;
    expect(params).toMatchObject({
      selection: 'auto',
      validation: 'temporal',
      validationCutoff: new Date(v.cutoff).toISOString(),
      validationUsers: v.users,
    });
    // `--personal ease` alone makes the same choice on the same customers.
    const easeOnly = await trainPersonal(d, { personal: 'ease' }, () => {});
    expect(params.easeLambda).toBe(easeOnly.params.lambda);
    expect(params.easeHalfLifeDays).toBe(easeOnly.params.halfLifeDays);
    expect(params.easePopularityExponent).toBe(easeOnly.params.popularityExponent);
    expect(params.easeValidationNdcg10).toBe(easeOnly.params.validationNdcg10);
    expect(metrics?.['personal/ease']).toEqual(easeOnly.metrics?.['personal/ease']);
    const winner =
      Number(params.multDaeValidationNdcg10) > Number(params.easeValidationNdcg10) ? 'mult-dae' : 'ease';
    expect(params.model).toBe(winner);
    expect(result.body.kind).toBe(winner === 'ease' ? 'dense' : 'autoencoder');
    expect(metrics?.[`personal/${winner}`]?.validationNdcg10).toBe(params.validationNdcg10);
    expect(metrics?.['personal/mult-dae']?.validationUsers).toBe(v.users);
    // The plain EASE's score is recorded beside it, never above the chosen one (it is in the grid).
    expect(Number(metrics?.['personal/ease-plain']?.validationNdcg10)).toBeLessThanOrEqual(
      Number(params.easeValidationNdcg10),
    );
    expect(lines.join('\n')).toMatch(/validation nDCG@10 \(served lists, \d+ customers\)/);
  });

  it('falls back to EASE without comparison when nothing comes after the cut-off to validate on', async () => {
    // Every purchase at one moment: nothing before any cut-off.
    const d = data(tasteGroupShoppers(20, 0.05, 5));
    const lines: string[] = [];
    const result = await trainPersonal(d, { lambda: 10 }, (l) => lines.push(l));
    expect(result.params).toMatchObject({
      model: 'ease',
      lambda: 10,
      halfLifeDays: 'none',
      popularityExponent: 0,
    });
    expect(result.params.selection).toBeUndefined();
    expect(result.metrics).toBeUndefined();
    expect(lines.join('\n')).toMatch(/no customer to validate on/);
  });
});

describe('personal auto with few customers to validate on', { timeout: 120_000 }, () => {
  it('ships EASE with the default settings, choosing nothing on them: a comparison on so few is noise', async () => {
    const d = data(timedShoppers(24, 0.05));
    const v = temporalValidation(d.interactions, d.byUser.items);
    expect(v.users).toBeGreaterThan(0);
    expect(v.users).toBeLessThan(MIN_VALIDATION_CUSTOMERS);
    const lines: string[] = [];
    const result = await trainPersonal(d, { hidden: 8, epochs: 2 }, (l) => lines.push(l));
    // Before: EASE's 36 settings and the Mult-DAE were compared on these few customers' next purchases.
    expect(result.params).toMatchObject({
      model: 'ease',
      lambda: 100,
      halfLifeDays: 'none',
      popularityExponent: 0,
    });
    expect(result.params.selection).toBeUndefined();
    expect(result.metrics).toBeUndefined();
    expect(lines.join('\n')).toMatch(
      new RegExp(
        `personal auto: only ${v.users} customers to validate on \\(fewer than ${MIN_VALIDATION_CUSTOMERS}\\)`,
      ),
    );
    expect(lines.join('\n')).not.toMatch(/TF\.js|λ by validation/);
    const easeOnly = await trainPersonal(d, { personal: 'ease' }, () => {});
    expect(easeOnly.params).toMatchObject({ lambda: 100, halfLifeDays: 'none', popularityExponent: 0 });
  });
});

describe('personal ease settings', { timeout: 120_000 }, () => {
  it('searches what is not given; with every setting given, scores nothing', async () => {
    const d = data(timedShoppers(200, 0.05));
    const lines: string[] = [];
    const some = await trainPersonal(d, { personal: 'ease', lambda: 30 }, (l) => lines.push(l));
    expect(some.params.lambda).toBe(30);
    // Half-lives none, 30, 90 × exponents 0, 0.25 at λ 30: six candidates, one line per pair.
    expect(lines.filter((l) => /λ by validation nDCG@10: 30 → [\d.]+$/.test(l))).toHaveLength(6);
    expect(some.metrics?.['personal/ease']?.validationNdcg10).toBe(some.params.validationNdcg10);
    const all = await trainPersonal(
      d,
      { personal: 'ease', lambda: 30, easeHalfLifeDays: 30, popularityExponent: 0.25 },
      () => {},
    );
    expect(all.params).toMatchObject({ lambda: 30, halfLifeDays: 30, popularityExponent: 0.25 });
    expect(all.metrics).toBeUndefined();
    expect(all.params.validationNdcg10).toBeUndefined();
  });
});

describe('personal autoencoder', { timeout: 120_000 }, () => {
  it('stops early on the temporal validation, records its served-list score, and refits on all the data', async () => {
    const d = data(timedShoppers(200, 0.05));
    const v = temporalValidation(d.interactions, d.byUser.items);
    const lines: string[] = [];
    const dae = await trainPersonal(d, { personal: 'autoencoder', hidden: 8, epochs: 3 }, (l) =>
      lines.push(l),
    );
    expect(dae.metrics).toEqual({
      'personal/mult-dae': { validationNdcg10: dae.params.validationNdcg10, validationUsers: v.users },
    });
    expect(dae.params.validation).toBe('temporal');
    expect(lines.join('\n')).toMatch(
      new RegExp(`refit on all ${d.byUser.users.length} users: ${dae.params.bestEpoch} epochs`),
    );
  });

  it('--personal item-item computes no validation score, and writes none', async () => {
    expect(
      (await trainPersonal(data(timedShoppers(60, 0.05)), { personal: 'item-item' }, () => {})).metrics,
    ).toBeUndefined();
  });
});

describe('personal item-item', () => {
  it('takes --rank above 1,000 items, as the similar and complements graphs do', async () => {
    // 1,100 items: past the dense limit, so the graph is factorised at the rank asked for.
    const rows = Array.from({ length: 60 * 20 }, (_, n) => ({
      user: `u${Math.floor(n / 20)}`,
      item: `i${(Math.floor(n / 20) * 37 + (n % 20) * 55) % 1100}`,
      time: n,
      weight: 1,
      purchase: false,
      quantity: 0,
    }));
    const byUser = aggregate(rows);
    expect(byUser.matrix.cols).toBeGreaterThan(1000);
    const result = await trainPersonal(
      { byUser, interactions: rows },
      { personal: 'item-item', rank: 8 },
      () => {},
    );
    expect(result.body).toMatchObject({ kind: 'factorized', rank: 8 });
    expect(result.params).toEqual({ model: 'item-item', rank: 8 });
  });
});
