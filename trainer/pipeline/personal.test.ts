import { describe, expect, it } from 'vitest';
import { aggregate, type SparseMatrix } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { scoredUsers, splitValidation } from '../models/validation';
import { tasteGroupShoppers } from '../test-support/taste-groups';
import { trainPersonal } from './personal';

const shoppers = (users: number, noise: number) => tasteGroupShoppers(users, noise, 5);

/**
 * The users the validation scores are computed on (seed 42's split): those with a held-out item.
 * On `shoppers(300, 0.05)` 23 of the 30 validation users; 7 had none of their items held out.
 */
const scored = (matrix: SparseMatrix) =>
  scoredUsers(splitValidation(matrix, 0.1, seededRandom(42)).validation);

/** `users` shoppers with 5 items each of 12. */
const fiveEach = (users: number): Interaction[] =>
  Array.from({ length: users * 5 }, (_, n) => ({
    user: `u${Math.floor(n / 5)}`,
    item: `i${(Math.floor(n / 5) * 3 + (n % 5)) % 12}`,
    time: n,
    weight: 1,
    purchase: true,
    quantity: 1,
  }));

describe('personal auto', { timeout: 60_000 }, () => {
  it('scores both candidates on the same users; the ONNX score of the Mult-DAE matches its TF.js epoch score', async () => {
    const { matrix } = aggregate(shoppers(300, 0.05));
    const lines: string[] = [];
    const result = await trainPersonal(matrix, { hidden: 16, epochs: 6 }, (l) => lines.push(l));
    const { params, metrics } = result;
    expect(params.selection).toBe('auto');
    expect(params.validationUsers).toBe(scored(matrix));
    expect(scored(matrix)).toBe(23);
    // Same split as `--personal ease` alone would use (seed 42): EASE's score is the same.
    const easeOnly = await trainPersonal(matrix, { personal: 'ease' }, () => {});
    expect(params.easeLambda).toBe(easeOnly.params.lambda);
    expect(params.easeValidationNdcg10).toBe(easeOnly.params.validationNdcg10);
    // The epoch line of the kept epoch (TF.js scoring) agrees with the exported graph's score.
    const kept = lines.find((l) => new RegExp(`^epoch +${params.multDaeBestEpoch} `).test(l));
    const tfjs = Number(/val nDCG@10 ([\d.]+)/.exec(kept ?? '')?.[1]);
    expect(Number(params.multDaeValidationNdcg10)).toBeCloseTo(tfjs, 3);
    const winner =
      Number(params.multDaeValidationNdcg10) > Number(params.easeValidationNdcg10) ? 'mult-dae' : 'ease';
    expect(params.model).toBe(winner);
    expect(result.body.kind).toBe(winner === 'ease' ? 'dense' : 'autoencoder');
    expect(metrics?.[`personal/${winner}`]?.validationNdcg10).toBe(params.validationNdcg10);
  });

  it('falls back to EASE without comparison when no user has enough items to validate on', async () => {
    const { matrix } = aggregate(shoppers(6, 0).filter((r) => r.item < 'i2'));
    const lines: string[] = [];
    const result = await trainPersonal(matrix, { lambda: 10 }, (l) => lines.push(l));
    expect(result.params).toMatchObject({ model: 'ease', lambda: 10 });
    expect(result.metrics).toBeUndefined();
    expect(lines.join('\n')).toMatch(/no user has enough items to validate on/);
  });
});

describe('validation users counted', { timeout: 60_000 }, () => {
  // The scores leave out validation users none of whose items was held out (nothing to predict); the
  // manifest and the log counted them all, the split's fold-in rows.
  it('counts only the users with an item held out, in the metrics, the params and the log line', async () => {
    const { matrix } = aggregate(fiveEach(60));
    const { validation } = splitValidation(matrix, 0.1, seededRandom(42));
    expect(validation.foldIn.rows).toBe(6);
    expect(validation.heldOut.filter((items) => items.size === 0)).toHaveLength(2);
    const ease = await trainPersonal(matrix, { personal: 'ease' }, () => {});
    expect(ease.metrics?.['personal/ease']?.validationUsers).toBe(4);
    const lines: string[] = [];
    const auto = await trainPersonal(matrix, { hidden: 4, epochs: 1 }, (l) => lines.push(l));
    expect(auto.params.validationUsers).toBe(4);
    expect(auto.metrics?.['personal/ease']?.validationUsers).toBe(4);
    expect(auto.metrics?.['personal/mult-dae']?.validationUsers).toBe(4);
    expect(lines.join('\n')).toMatch(/on one split \(4 validation users\)/);
    expect(lines.join('\n')).toMatch(/validation nDCG@10 \(ONNX, 4 users\)/);
  });

  it('auto compares nothing when no validation user had an item held out: EASE without comparison', async () => {
    // 10 shoppers with 5 items each: one validation user, none of its items held out (seed 42).
    const { matrix } = aggregate(fiveEach(10));
    const { validation } = splitValidation(matrix, 0.1, seededRandom(42));
    expect([validation.foldIn.rows, scoredUsers(validation)]).toEqual([1, 0]);
    const lines: string[] = [];
    const result = await trainPersonal(matrix, { hidden: 4, epochs: 1 }, (l) => lines.push(l));
    expect(result.params.model).toBe('ease');
    expect(result.params.selection).toBeUndefined();
    expect(result.metrics).toBeUndefined();
    expect(lines.join('\n')).toMatch(/no user has enough items to validate on/);
  });
});

describe('the manifest metrics of one personal model', { timeout: 60_000 }, () => {
  // DESIGN.md: the manifest names the evaluation metrics. Only `auto` wrote them; the validation score
  // of `--personal ease` or `autoencoder` sat in `params` alone.
  it("--personal ease: the λ search's validation nDCG@10 under personal/ease, as auto writes it", async () => {
    const { matrix } = aggregate(shoppers(300, 0.05));
    const ease = await trainPersonal(matrix, { personal: 'ease' }, () => {});
    expect(ease.params.validationNdcg10).toEqual(expect.any(Number));
    expect(ease.metrics).toEqual({
      'personal/ease': { validationNdcg10: ease.params.validationNdcg10, validationUsers: scored(matrix) },
    });
    // The same figure and users as auto's EASE candidate (one split, seed 42).
    const auto = await trainPersonal(matrix, { hidden: 8, epochs: 1 }, () => {});
    expect(auto.metrics?.['personal/ease']).toEqual(ease.metrics?.['personal/ease']);
    // A given λ is not scored: no metric to write.
    expect((await trainPersonal(matrix, { personal: 'ease', lambda: 30 }, () => {})).metrics).toBeUndefined();
  });

  it("--personal autoencoder: the kept epoch's validation nDCG@10 under personal/mult-dae", async () => {
    const { matrix } = aggregate(shoppers(300, 0.05));
    const lines: string[] = [];
    const dae = await trainPersonal(matrix, { personal: 'autoencoder', hidden: 8, epochs: 3 }, (l) =>
      lines.push(l),
    );
    const kept = lines.find((l) => new RegExp(`^epoch +${dae.params.bestEpoch} `).test(l));
    const tfjs = Number(/val nDCG@10 ([\d.]+)/.exec(kept ?? '')?.[1]);
    expect(dae.metrics).toEqual({
      'personal/mult-dae': { validationNdcg10: dae.params.validationNdcg10, validationUsers: scored(matrix) },
    });
    expect(dae.metrics?.['personal/mult-dae']?.validationNdcg10).toBeCloseTo(tfjs, 4);
  });

  it('--personal item-item computes no validation score, and writes none', async () => {
    const { matrix } = aggregate(shoppers(60, 0.05));
    expect((await trainPersonal(matrix, { personal: 'item-item' }, () => {})).metrics).toBeUndefined();
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
    const { matrix } = aggregate(rows);
    expect(matrix.cols).toBeGreaterThan(1000);
    const result = await trainPersonal(matrix, { personal: 'item-item', rank: 8 }, () => {});
    expect(result.body).toMatchObject({ kind: 'factorized', rank: 8 });
    expect(result.params).toEqual({ model: 'item-item', rank: 8 });
  });
});
