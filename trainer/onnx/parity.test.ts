/**
 * Parity: every exported graph, run in onnxruntime-web (the worker's runtime), against the reference
 * computed from the same weights — plain JS (models/reference.ts) and, for Mult-DAE, TF.js itself.
 * max |Δscore| ≤ 1e-4 and identical top-10.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fixtureBundleContents } from '../bundle/fixture';
import { buildParityFixture, caseVectors, type ParityFixture } from '../bundle/parity-fixture';
import { readBundle } from '../bundle/read-bundle';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { trainEase } from '../models/ease';
import { trainItemItem } from '../models/item-item';
import { trainMultDae } from '../models/mult-dae';
import { referenceScores, referenceTopK } from '../models/reference';
import { initBackend, tf } from '../tfjs/backend';
import { readScoringBody } from './read-body';
import { buildRecommenderGraph, type ScoringBody } from './recommender-graphs';
import { loadRecommender } from './run';

const TOLERANCE = 1e-4;

/** Synthetic shoppers with taste clusters, so the models have structure to learn. */
function syntheticInteractions(users: number, items: number, seed = 3): Interaction[] {
  const out: Interaction[] = [];
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  for (let u = 0; u < users; u++) {
    const cluster = u % 4;
    for (let i = 0; i < items; i++) {
      const inCluster = i % 4 === cluster;
      if (rand() < (inCluster ? 0.4 : 0.03)) {
        out.push({
          user: `u${u}`,
          item: `i${i}`,
          time: u * 1000 + i,
          weight: 1,
          purchase: true,
          quantity: 1,
          basket: `b${u}-${i % 3}`,
        });
      }
    }
  }
  return out;
}

async function expectParity(
  body: ScoringBody,
  items: number,
  histories: Float32Array[],
  masks: Float32Array[],
) {
  const runner = await loadRecommender(
    buildRecommenderGraph({ name: body.kind, items, k: 10, body, producerVersion: 'test' }),
  );
  const batch = histories.length;
  const history = new Float32Array(batch * items);
  const mask = new Float32Array(batch * items);
  for (const [b, h] of histories.entries()) history.set(h, b * items);
  for (const [b, m] of masks.entries()) mask.set(m, b * items);
  const out = await runner.run(history, mask, batch);
  await runner.close();
  for (let b = 0; b < batch; b++) {
    const ref = referenceTopK(
      referenceScores(body, histories[b] as Float32Array),
      masks[b] as Float32Array,
      10,
    );
    expect(Array.from(out.indices.subarray(b * out.k, b * out.k + 10))).toEqual(ref.indices);
    const got = Array.from(out.scores.subarray(b * out.k, b * out.k + 10));
    const diff = Math.max(...got.map((v, i) => Math.abs(v - (ref.scores[i] ?? 0))));
    expect(diff).toBeLessThanOrEqual(TOLERANCE);
  }
}

function sampleInputs(items: number): { histories: Float32Array[]; masks: Float32Array[] } {
  const histories: Float32Array[] = [];
  const masks: Float32Array[] = [];
  for (let b = 0; b < 4; b++) {
    const h = new Float32Array(items);
    const m = new Float32Array(items).fill(1);
    for (let j = 0; j < b * 2; j++) {
      const i = (j * 7 + b * 3) % items;
      h[i] = 1 + (j % 3);
      m[i] = 0;
    }
    histories.push(h);
    masks.push(m);
  }
  return { histories, masks };
}

describe('ONNX parity with the reference (onnxruntime-web in Node)', () => {
  const interactions = syntheticInteractions(80, 40);
  const byUser = aggregate(interactions);
  const n = byUser.items.length;
  const { histories, masks } = sampleInputs(n);

  it('dense item-item graph', async () => {
    await expectParity(trainItemItem(byUser.matrix), n, histories, masks);
  });

  it('factorised item-item graph', async () => {
    await expectParity(trainItemItem(byUser.matrix, { maxDenseItems: 10, rank: 12 }), n, histories, masks);
  });

  it('EASE graphs: exact (dense) and low rank (factorised)', async () => {
    const exact = trainEase(byUser.matrix, { lambda: 5 });
    expect(exact.kind).toBe('dense');
    await expectParity(exact, n, histories, masks);
    const lowRank = trainEase(byUser.matrix, { lambda: 5, maxDenseItems: 10, rank: 12 });
    expect(lowRank.kind).toBe('factorized');
    await expectParity(lowRank, n, histories, masks);
  });

  it('factorised graphs with the history unmasked (a viewed item): no item scores against itself', async () => {
    // The worker masks purchases, the page's product and the cart, not items a shopper only viewed.
    const open = histories.map(() => new Float32Array(n).fill(1));
    await expectParity(trainItemItem(byUser.matrix, { maxDenseItems: 10, rank: 12 }), n, histories, open);
    await expectParity(
      trainEase(byUser.matrix, { lambda: 5, maxDenseItems: 10, rank: 12 }),
      n,
      histories,
      open,
    );
    // At full rank the factorised EASE graph ranks every item as the exact one does, viewed ones included.
    const fullRank = trainEase(byUser.matrix, { lambda: 5, maxDenseItems: 10, rank: n, iterations: 8 });
    const exact = trainEase(byUser.matrix, { lambda: 5 });
    for (const history of histories) {
      const want = referenceTopK(referenceScores(exact, history), new Float32Array(n).fill(1), 10).indices;
      const runner = await loadRecommender(
        buildRecommenderGraph({ name: 'ease', items: n, k: 10, body: fullRank, producerVersion: 'test' }),
      );
      const out = await runner.run(history, new Float32Array(n).fill(1), 1);
      await runner.close();
      expect(Array.from(out.indices.subarray(0, 10))).toEqual(want);
    }
  });

  it('fixture bundle graphs (autoencoder, factorised)', async () => {
    const contents = fixtureBundleContents({ items: 30, hidden: 6 });
    const { histories: h, masks: m } = sampleInputs(30);
    for (const model of contents.models) await expectParity(readScoringBody(model.onnx), 30, h, m);
  });

  it('Mult-DAE: TF.js forward pass vs the exported graph', async () => {
    await initBackend();
    const { body } = await trainMultDae(byUser.matrix, { hidden: 16, epochs: 3, patience: 3, seed: 5 });
    const batch = histories.length;
    const input = new Float32Array(batch * n);
    for (const [b, h] of histories.entries()) input.set(h, b * n);
    // TF.js computes the same forward pass the trainer optimised (no dropout at inference).
    const tfScores = tf.tidy(() => {
      const x = tf.tensor2d(input, [batch, n]);
      const x0 = tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12));
      const h = tf.tanh(tf.add(tf.matMul(x0, tf.tensor2d(body.w1, [n, body.hidden])), tf.tensor1d(body.b1)));
      return tf.add(tf.matMul(h, tf.tensor2d(body.w2, [body.hidden, n])), tf.tensor1d(body.b2));
    });
    const expected = await tfScores.data();
    tfScores.dispose();
    const runner = await loadRecommender(
      buildRecommenderGraph({ name: 'dae', items: n, k: 10, body, producerVersion: 'test' }),
    );
    const mask = new Float32Array(batch * n);
    for (const [b, m] of masks.entries()) mask.set(m, b * n);
    const out = await runner.run(input, mask, batch);
    await runner.close();
    for (let b = 0; b < batch; b++) {
      const row = Float64Array.from(expected.subarray(b * n, (b + 1) * n));
      const ref = referenceTopK(row, masks[b] as Float32Array, 10);
      expect(Array.from(out.indices.subarray(b * 10, b * 10 + 10))).toEqual(ref.indices);
      const got = Array.from(out.scores.subarray(b * 10, b * 10 + 10));
      expect(Math.max(...got.map((v, i) => Math.abs(v - (ref.scores[i] ?? 0))))).toBeLessThanOrEqual(
        TOLERANCE,
      );
    }
  });

  it('committed default bundle matches test/fixtures/parity-default.json', async () => {
    const fixture = JSON.parse(await readFile('test/fixtures/parity-default.json', 'utf8')) as ParityFixture;
    const bundle = await readBundle('models/default');
    expect(fixture.bundleVersion).toBe(bundle.manifest.version);
    // The fixture is what the weights in the files say, recomputed now.
    expect(await buildParityFixture('models/default')).toEqual(fixture);
    const items = bundle.catalogue.items.length;
    for (const entry of bundle.manifest.models) {
      const runner = await loadRecommender(await bundle.modelBytes(entry));
      for (const [i, c] of fixture.cases.entries()) {
        const { history, mask } = caseVectors(c, items);
        const out = await runner.run(history, mask, 1);
        const want = fixture.expected[entry.file]?.[i];
        expect(Array.from(out.indices.subarray(0, 10))).toEqual(want?.indices);
        const diff = Math.max(
          ...Array.from(out.scores.subarray(0, 10), (v, j) => Math.abs(v - (want?.scores[j] ?? 0))),
        );
        expect(diff).toBeLessThanOrEqual(fixture.tolerance);
      }
      await runner.close();
    }
  });
});
