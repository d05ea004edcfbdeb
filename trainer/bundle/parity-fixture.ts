/**
 * Expected outputs of a bundle's graphs for a few histories, computed in plain JS from the weights
 * decoded out of each ONNX file (models/reference.ts). The Node parity test checks onnxruntime-web
 * against it; a workerd test can load the same JSON and compare the worker's runtime.
 *
 * `tsx trainer/bundle/parity-fixture.ts [BUNDLE_DIR] [OUT.json]` (defaults: models/default,
 * test/fixtures/parity-default.json).
 */
import { writeFile } from 'node:fs/promises';
import { isMain } from '../../scripts/is-main';
import { referenceScores, referenceTopK } from '../models/reference';
import { readScoringBody } from '../onnx/read-body';
import { readBundle } from './read-bundle';

/** One input case: sparse history (catalogue index → weight) and the excluded indices. */
export interface ParityCase {
  history: Record<string, number>;
  excluded: number[];
}

/** The fixture: per model file, each case's expected top-10. */
export interface ParityFixture {
  bundleVersion: string;
  tolerance: number;
  topK: number;
  cases: ParityCase[];
  expected: Record<string, Array<{ indices: number[]; scores: number[] }>>;
}

/** Deterministic cases spread over the catalogue: empty, one item, a few items, a weighted cart. */
export function parityCases(items: number): ParityCase[] {
  const at = (f: number) => Math.min(items - 1, Math.floor(f * items));
  return [
    { history: {}, excluded: [] },
    { history: { [at(0)]: 1 }, excluded: [at(0)] },
    { history: { [at(0.1)]: 1, [at(0.5)]: 1, [at(0.9)]: 1 }, excluded: [at(0.1), at(0.5), at(0.9)] },
    {
      history: { [at(0.2)]: 3, [at(0.3)]: 1.5, [at(0.7)]: 1 },
      excluded: [at(0.2), at(0.3), at(0.7), at(0.05)],
    },
  ];
}

/** Dense history and mask vectors of a case. */
export function caseVectors(c: ParityCase, items: number): { history: Float32Array; mask: Float32Array } {
  const history = new Float32Array(items);
  for (const [i, w] of Object.entries(c.history)) history[Number(i)] = w;
  const mask = new Float32Array(items).fill(1);
  for (const i of c.excluded) mask[i] = 0;
  return { history, mask };
}

/** Builds the fixture for the bundle in `dir`. */
export async function buildParityFixture(dir: string, topK = 10): Promise<ParityFixture> {
  const bundle = await readBundle(dir);
  const items = bundle.catalogue.items.length;
  const cases = parityCases(items);
  const expected: ParityFixture['expected'] = {};
  for (const entry of bundle.manifest.models) {
    const body = readScoringBody(await bundle.modelBytes(entry));
    expected[entry.file] = cases.map((c) => {
      const { history, mask } = caseVectors(c, items);
      const top = referenceTopK(referenceScores(body, history), mask, topK);
      return { indices: top.indices, scores: top.scores.map((s) => Number(s.toPrecision(9))) };
    });
  }
  return { bundleVersion: bundle.manifest.version, tolerance: 1e-4, topK, cases, expected };
}

if (isMain(import.meta.url)) {
  const dir = process.argv[2] ?? 'models/default';
  const out = process.argv[3] ?? 'test/fixtures/parity-default.json';
  const fixture = await buildParityFixture(dir);
  await writeFile(out, `${JSON.stringify(fixture, null, 1)}\n`);
  console.log(
    `wrote ${out} for bundle ${fixture.bundleVersion} (${Object.keys(fixture.expected).length} models)`,
  );
}
