import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { buildRecommenderGraph } from '../onnx/recommender-graphs';
import { evaluateOnnx, relevantSets } from './evaluate';
import { servedExclusions } from './exclusions';

const row = (user: string, item: string): Interaction => ({
  user,
  item,
  time: 0,
  weight: 1,
  purchase: true,
  quantity: 1,
});

describe('evaluation on an exported graph', () => {
  it('scores the ONNX top-k against relevant sets that count unknown items, as the reference does', async () => {
    const train = aggregate([row('a', 'x'), row('a', 'y'), row('b', 'y'), row('b', 'z'), row('c', 'x')]);
    // a: z (rankable) + w (never trained on); b: x; c: x again (already in training → not relevant)
    // and d has no training row (no predictions → not averaged).
    const test = [row('a', 'z'), row('a', 'w'), row('b', 'x'), row('c', 'x'), row('d', 'x')];
    const relevant = relevantSets(train, test);
    const rowOf = (u: string) => train.users.indexOf(u);
    expect([...relevant.keys()].sort()).toEqual([rowOf('a'), rowOf('b')].sort());
    expect(relevant.get(rowOf('a'))).toEqual({ items: new Set([train.itemIndex.get('z')]), count: 2 });

    // popularity z > x > y: a (x, y masked) gets [z], b (y, z masked) gets [x]
    const popularity = new Float32Array(train.items.length);
    for (const [id, score] of [
      ['x', 2],
      ['y', 1],
      ['z', 3],
    ] as const)
      popularity[train.itemIndex.get(id) ?? -1] = score;
    const onnx = buildRecommenderGraph({
      name: 'pop',
      items: train.items.length,
      k: 1,
      body: { kind: 'popularity', popularity },
      producerVersion: 'test',
    });
    const score = await evaluateOnnx('pop', onnx, train.matrix, relevant, popularity, 1);
    expect(score.users).toBe(2);
    expect(score.precision).toBeCloseTo(1, 6);
    expect(score.recall).toBeCloseTo((1 / 2 + 1) / 2, 6); // a found 1 of its 2
    expect(score.ndcg).toBeCloseTo(1, 6); // IDCG over min(|relevant|, k = 1)
    expect(score.map).toBeCloseTo((1 / 2 + 1) / 2, 6);
    expect(score.mapAtK).toBeCloseTo(1, 6);
    // Top-1 lists [z] and [x]: 2 of the catalogue's 3 items recommended to someone.
    expect(score.coverage).toBeCloseTo(2 / 3, 6);
  });

  it("a row without history gets popularity, as the worker serves it, not a biased model's list", async () => {
    const train = aggregate([row('a', 'x'), row('b', 'y')]);
    const relevant = relevantSets(train, [row('a', 'y')]);
    const rowA = train.users.indexOf('a');
    expect(relevant.get(rowA)?.count).toBe(1);
    const n = train.items.length;
    const x = train.itemIndex.get('x') ?? -1;
    const y = train.itemIndex.get('y') ?? -1;
    const popularity = new Float32Array(n);
    popularity[y] = 2;
    popularity[x] = 1;
    // A Mult-DAE whose output is its decoder bias alone: x everywhere, whatever the history.
    const b2 = new Float32Array(n);
    b2[x] = 5;
    b2[y] = 1;
    const onnx = buildRecommenderGraph({
      name: 'bias',
      items: n,
      k: 1,
      body: {
        kind: 'autoencoder',
        hidden: 1,
        w1: new Float32Array(n),
        b1: new Float32Array(1),
        w2: new Float32Array(n),
        b2,
      },
      producerVersion: 'test',
    });
    // The worker holds nothing for anyone (their activity expired): no history, no mask.
    const empty = {
      rows: train.users.length,
      cols: n,
      rowPtr: new Int32Array(train.users.length + 1),
      colIdx: new Int32Array(0),
      values: new Float32Array(0),
    };
    const score = await evaluateOnnx('bias', onnx, empty, relevant, popularity, 1, empty);
    expect(score.precision).toBeCloseTo(1, 6); // y, the most popular, which a bought
  });

  it('with product families, a row as the worker caps it: no more than 40 % from one family', async () => {
    // Popularity m1 > m2 > m3 > b (mugs and a bag); "a" bought only q and then buys the bag.
    const train = aggregate([
      ...['m1', 'm2', 'm3', 'b'].flatMap((item, rank) =>
        Array.from({ length: 8 - rank }, (_, i) => row(`u${rank}-${i}`, item)),
      ),
      row('a', 'q'),
    ]);
    const relevant = relevantSets(train, [row('a', 'b')]);
    const popularity = new Float32Array(train.items.length);
    for (const [id, score] of [
      ['m1', 4],
      ['m2', 3],
      ['m3', 2],
      ['b', 1],
    ] as const)
      popularity[train.itemIndex.get(id) ?? -1] = score;
    const onnx = buildRecommenderGraph({
      name: 'pop',
      items: train.items.length,
      k: 3,
      body: { kind: 'popularity', popularity },
      producerVersion: 'test',
    });
    const families = train.items.map((id) => ({ category: id.startsWith('m') ? 'mugs' : 'bags' }));
    // Top-3 as ranked: three mugs, the bag fourth. Capped (2 of 3 per family): m1, m2, then the bag.
    const plain = await evaluateOnnx('pop', onnx, train.matrix, relevant, popularity, 3);
    const capped = await evaluateOnnx(
      'pop',
      onnx,
      train.matrix,
      relevant,
      popularity,
      3,
      train.matrix,
      families,
    );
    expect(plain.recall).toBe(0);
    expect(capped.recall).toBeCloseTo(1, 6);
    expect(capped.precision).toBeCloseTo(1 / 3, 6);
  });

  it('counts a test user whose every test item is unknown to the model, as a miss', async () => {
    // a's only test item, w, was never trained on: the model cannot rank it, but a is a test user
    // (the reference's common_users) and scores 0; b finds x. Averages over both: 1/2.
    const train = aggregate([row('a', 'x'), row('b', 'y')]);
    const relevant = relevantSets(train, [row('a', 'w'), row('b', 'x')]);
    const rowA = train.users.indexOf('a');
    expect(relevant.get(rowA)).toEqual({ items: new Set(), count: 1 });
    const popularity = new Float32Array(train.items.length);
    popularity[train.itemIndex.get('x') ?? -1] = 2;
    popularity[train.itemIndex.get('y') ?? -1] = 1;
    const onnx = buildRecommenderGraph({
      name: 'pop',
      items: train.items.length,
      k: 1,
      body: { kind: 'popularity', popularity },
      producerVersion: 'test',
    });
    const score = await evaluateOnnx('pop', onnx, train.matrix, relevant, popularity, 1);
    expect(score.users).toBe(2);
    expect(score.recall).toBeCloseTo(1 / 2, 6);
    expect(score.ndcg).toBeCloseTo(1 / 2, 6);
  });

  it('ranks from the history but masks only the exclusions: a viewed item stays in the list', async () => {
    // a viewed x (not masked: the worker shows it again) and bought y (masked), then buys z.
    // Popularity x > z > y, so a's top-2 as served is [x, z]: the hit at rank 2, nDCG 1/log2(3).
    const view = { ...row('a', 'x'), purchase: false };
    const interactions = [view, row('a', 'y'), row('b', 'z'), row('b', 'x'), row('c', 'x')];
    const train = aggregate(interactions);
    const relevant = relevantSets(train, [row('a', 'z')]);
    const popularity = new Float32Array(train.items.length);
    for (const [id, score] of [
      ['x', 3],
      ['y', 1],
      ['z', 2],
    ] as const)
      popularity[train.itemIndex.get(id) ?? -1] = score;
    const onnx = buildRecommenderGraph({
      name: 'pop',
      items: train.items.length,
      k: 2,
      body: { kind: 'popularity', popularity },
      producerVersion: 'test',
    });
    const masks = servedExclusions(train, interactions);
    const score = await evaluateOnnx('pop', onnx, train.matrix, relevant, popularity, 2, masks);
    expect(score.precision).toBeCloseTo(1 / 2, 6);
    expect(score.recall).toBeCloseTo(1, 6);
    expect(score.ndcg).toBeCloseTo(1 / Math.log2(3), 6);
  });
});
