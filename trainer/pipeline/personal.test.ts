import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import { tasteGroupShoppers } from '../test-support/taste-groups';
import { trainPersonal } from './personal';

const shoppers = (users: number, noise: number) => tasteGroupShoppers(users, noise, 5);

describe('personal auto', { timeout: 60_000 }, () => {
  it('scores both candidates on the same users; the ONNX score of the Mult-DAE matches its TF.js epoch score', async () => {
    const { matrix } = aggregate(shoppers(300, 0.05));
    const lines: string[] = [];
    const result = await trainPersonal(matrix, { hidden: 16, epochs: 6 }, (l) => lines.push(l));
    const { params, metrics } = result;
    expect(params.selection).toBe('auto');
    expect(params.validationUsers).toBe(30);
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

describe('the manifest metrics of one personal model', { timeout: 60_000 }, () => {
  // DESIGN.md: the manifest names the evaluation metrics. Only `auto` wrote them; the validation score
  // of `--personal ease` or `autoencoder` sat in `params` alone.
  it("--personal ease: the λ search's validation nDCG@10 under personal/ease, as auto writes it", async () => {
    const { matrix } = aggregate(shoppers(300, 0.05));
    const ease = await trainPersonal(matrix, { personal: 'ease' }, () => {});
    expect(ease.params.validationNdcg10).toEqual(expect.any(Number));
    expect(ease.metrics).toEqual({
      'personal/ease': { validationNdcg10: ease.params.validationNdcg10, validationUsers: 30 },
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
      'personal/mult-dae': { validationNdcg10: dae.params.validationNdcg10, validationUsers: 30 },
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
