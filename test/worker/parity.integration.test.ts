/**
 * The workerd half of the trainer's parity check: the worker's onnxruntime-web runtime must return the
 * top-10 that the trainer's plain-JS reference computed from the same ONNX weights
 * (test/fixtures/parity-default.json, written by trainer/bundle/parity-fixture.ts).
 */
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../../worker/src/models';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';
import fixture from '../fixtures/parity-default.json';

describe('ONNX parity in workerd (default bundle)', () => {
  it('every model returns the reference top-10 for every case', async () => {
    const source = defaultBundleSource();
    if (!source) throw new Error('no default bundle embedded: run tsx scripts/models-embed.ts');
    const bundle = await loadBundle(source);
    // A fixture for another bundle version would compare different weights: regenerate it with the bundle.
    expect(bundle.version).toBe(fixture.bundleVersion);
    const n = bundle.items.length;
    let compared = 0;
    for (const entry of bundle.manifest.models) {
      const expected = (fixture.expected as Record<string, Array<{ indices: number[]; scores: number[] }>>)[
        entry.file
      ];
      const model = bundle.models[entry.role];
      if (!expected || model?.entry.file !== entry.file) continue;
      for (const [i, testCase] of fixture.cases.entries()) {
        const history = new Float32Array(n);
        for (const [index, weight] of Object.entries(testCase.history))
          history[Number(index)] = Number(weight);
        const mask = new Float32Array(n).fill(1);
        for (const index of testCase.excluded) mask[index] = 0;
        const top = await model.run(history, mask);
        const want = expected[i];
        if (!want) throw new Error(`fixture has no case ${i} for ${entry.file}`);
        // The graph answers its manifest's k (at least the fixture's top-10); a shorter answer would
        // leave ranks uncompared, so the compared lists must both be exactly topK long.
        expect(top.indices, `${entry.file} case ${i}`).toHaveLength(entry.k);
        expect(top.scores, `${entry.file} case ${i}`).toHaveLength(entry.k);
        const got = [...top.indices].slice(0, fixture.topK);
        const scores = [...top.scores].slice(0, fixture.topK);
        expect(got).toHaveLength(fixture.topK);
        expect(want.indices).toHaveLength(fixture.topK);
        expect(want.scores).toHaveLength(fixture.topK);
        scores.forEach((score, k) => {
          expect(
            Math.abs(score - (want.scores[k] ?? Number.NaN)),
            `${entry.file} case ${i} rank ${k}`,
          ).toBeLessThanOrEqual(fixture.tolerance * Math.max(1, Math.abs(want.scores[k] ?? 0)));
        });
        // Indices must match except where neighbouring scores tie within the tolerance.
        got.forEach((index, k) => {
          if (index !== want.indices[k]) {
            expect(
              Math.abs((want.scores[k] ?? 0) - (want.scores[k + 1] ?? want.scores[k - 1] ?? 0)),
            ).toBeLessThanOrEqual(fixture.tolerance);
          }
        });
        compared++;
      }
    }
    expect(compared).toBe(bundle.manifest.models.length * fixture.cases.length);
  }, 120_000);
});
