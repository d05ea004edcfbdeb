import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { trainEase } from '../models/ease';
import { buildRecommenderGraph, type ScoringBody } from './recommender-graphs';

const build = (body: ScoringBody, items: number) =>
  buildRecommenderGraph({ name: 'personal', items, k: 2, body, producerVersion: 'test' });

describe('buildRecommenderGraph: weights', () => {
  it('refuses a weight that is not finite, naming the graph and the tensor', () => {
    const u = new Float32Array(6).fill(0.1);
    const v = new Float32Array(6).fill(0.1);
    v[4] = Number.POSITIVE_INFINITY;
    expect(() => build({ kind: 'factorized', rank: 2, u, v }, 3)).toThrow(
      /personal: tensor item_factors_out holds Infinity at 4/,
    );
    const w2 = new Float32Array(6).fill(0.1);
    w2[1] = Number.NaN;
    const autoencoder: ScoringBody = {
      kind: 'autoencoder',
      hidden: 2,
      w1: new Float32Array(6),
      b1: new Float32Array(2),
      w2,
      b2: new Float32Array(3),
    };
    expect(() => build(autoencoder, 3)).toThrow(/tensor decoder_w holds NaN at 1/);
  });

  it('low-rank EASE whose V overflows float32 (a λ past 3.4e38) fails at export, not as a graph scoring NaN', () => {
    // Every score of such a graph is 0 · Infinity = NaN, an empty history's too: the worker's trial
    // run refuses the bundle, but only at publish, after `train` had exited 0.
    const rows: Interaction[] = [];
    for (let u = 0; u < 6; u++)
      for (let i = 0; i < 8; i++)
        if ((u + i) % 3 !== 0)
          rows.push({ user: `u${u}`, item: `i${i}`, time: 0, weight: 1, purchase: true, quantity: 1 });
    const m = aggregate(rows);
    const body = trainEase(m.matrix, { lambda: 1e39, rank: 4, maxDenseItems: 0 });
    expect(() => build(body, m.items.length)).toThrow(/not finite/);
  });
});
