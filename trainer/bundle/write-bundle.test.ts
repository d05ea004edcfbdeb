import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_BUNDLE_BYTES, ManifestSchema, type ModelRole } from '../../contracts/manifest';
import { buildRecommenderGraph, type ScoringBody } from '../onnx/recommender-graphs';
import { loadRecommender } from '../onnx/run';
import { fixtureBundleContents, writeFixtureBundle } from './fixture';
import { BundleError, readBundle } from './read-bundle';
import {
  assembleBundle,
  type BundleContents,
  type BundleModel,
  type BundlePlan,
  BundleTargetError,
  BundleTooLargeError,
  catalogueFile,
  checkPlannedBundleSize,
  type PlannedGraph,
  plannedBundleBytes,
  plannedGraphBytes,
  TRAINER,
  writeBundle,
} from './write-bundle';

/** A graph of `planned`'s kind over `items` items (zero weights: only the size matters here). */
function graph(items: number, planned: PlannedGraph, rank = 8): Uint8Array {
  const r = Math.min(rank, items);
  const body: ScoringBody =
    planned.kind === 'dense'
      ? { kind: 'dense', matrix: new Float32Array(items * items) }
      : planned.kind === 'factorized'
        ? { kind: 'factorized', rank: r, u: new Float32Array(items * r), v: new Float32Array(r * items) }
        : {
            kind: 'autoencoder',
            hidden: planned.hidden,
            w1: new Float32Array(items * planned.hidden),
            b1: new Float32Array(planned.hidden),
            w2: new Float32Array(planned.hidden * items),
            b2: new Float32Array(items),
          };
  return buildRecommenderGraph({ name: 'g', items, k: 50, body, producerVersion: TRAINER.version });
}

function model(name: string, role: ModelRole, onnx: Uint8Array, params: BundleModel['params']): BundleModel {
  return { name, role, onnx, k: 50, params };
}

/** The message `run` throws. */
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('it did not throw');
}

/** The rank a size error names (`--rank N or lower`). */
function suggestedRank(message: string): number {
  const rank = Number(/--rank (\d+) or lower/.exec(message)?.[1]);
  if (!Number.isInteger(rank)) throw new Error(`no rank named in: ${message}`);
  return rank;
}

describe('bundle writer', () => {
  it('writes a manifest that validates, with checksums of every file, and replaces a bundle atomically', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'rx-bundle-'));
    const dir = path.join(root, 'bundle');
    const first = await writeFixtureBundle(dir, { items: 12, hidden: 4, seed: 1 });
    const second = await writeFixtureBundle(dir, { items: 12, hidden: 4, seed: 2 });
    expect(second.version).not.toBe(first.version);
    expect(await readdir(root)).toEqual(['bundle']); // no temp or old folders left
    const manifest = ManifestSchema.parse(
      JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')),
    );
    expect(manifest.version).toBe(second.version);
    expect(manifest.models.map((m) => m.role)).toEqual(['personal', 'similar', 'complements']);
    for (const m of manifest.models) {
      const bytes = await readFile(path.join(dir, m.file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.sha256);
      expect(m.inputs.map((i) => i.name)).toEqual(['history', 'mask']);
      expect(m.outputs).toEqual([
        { name: 'scores', type: 'float32', shape: ['batch', 10] },
        { name: 'indices', type: 'int64', shape: ['batch', 10] },
      ]);
      const runner = await loadRecommender(new Uint8Array(bytes));
      expect(runner.items).toBe(12);
      await runner.close();
    }
  });

  it('refuses a bundle larger than a worker takes, and names a --rank at which it fits', () => {
    // 60 items: a Mult-DAE (hidden 30, not shrunk by --rank) and two factorised graphs at rank 40.
    const { catalogue } = fixtureBundleContents({ items: 60 });
    const contents = (rank: number): BundleContents => ({
      ...fixtureBundleContents({ items: 60 }),
      models: [
        model('personal', 'personal', graph(60, { kind: 'autoencoder', hidden: 30 }), { hidden: 30 }),
        model('similar', 'similar', graph(60, { kind: 'factorized' }, rank), { rank }),
        model('complements', 'complements', graph(60, { kind: 'factorized' }, rank), { rank }),
      ],
    });
    const bytes = (rank: number) =>
      [...assembleBundle(contents(rank)).files]
        .filter(([name]) => name !== 'manifest.json')
        .reduce((sum, [, file]) => sum + file.byteLength, 0);
    const limit = bytes(40) - 3000;
    expect(() => assembleBundle(contents(40), limit)).toThrow(BundleTooLargeError);
    const message = errorOf(() => assembleBundle(contents(40), limit));
    expect(message).toMatch(/over the 0\.1 MiB a worker takes .*--rank \d+ or lower \(this run: 40\)/);
    // The rank named is the largest at which this bundle fits. Scaling the whole bundle by the rank,
    // as before, named one that did not (the autoencoder and the catalogue do not shrink with it).
    const fitting = suggestedRank(message);
    expect(bytes(fitting)).toBeLessThanOrEqual(limit);
    expect(() => assembleBundle(contents(fitting), limit)).not.toThrow();
    expect(bytes(fitting + 1)).toBeGreaterThan(limit);
    // No rank to lower: fewer items or a smaller --hidden.
    const noRank = { ...contents(40), catalogue, models: contents(40).models.slice(0, 1) };
    expect(() => assembleBundle(noRank, 1000)).toThrow(
      /on fewer items \(--catalogue\) or with a smaller --hidden/,
    );
  });

  it('before training, estimates every graph with its rest and catalogue.json, at least as large as written', () => {
    const items = 60;
    const rank = 12;
    for (const planned of [
      { kind: 'dense' },
      { kind: 'factorized' },
      { kind: 'autoencoder', hidden: 16 },
    ] satisfies PlannedGraph[]) {
      const written = graph(items, planned, rank).byteLength;
      expect(plannedGraphBytes(planned, items, rank), planned.kind).toBeGreaterThanOrEqual(written);
      expect(plannedGraphBytes(planned, items, rank), planned.kind).toBeLessThan(written + 4096);
    }
    // A rank above the item count is the item count (the eigensolver's most).
    expect(plannedGraphBytes({ kind: 'factorized' }, items, 500)).toBe(
      plannedGraphBytes({ kind: 'factorized' }, items, items),
    );
  });

  it('before training, the --rank it names makes a bundle that fits (1,947 items, --rank 3000)', () => {
    // The first 20,000 rows of Online Retail: 1,947 items, a catalogue.json of ~374 KiB. Counting
    // three graphs' U and V alone, the check said "--rank 718", and training at 718 ended 3 min 20 s
    // later with "the bundle would be 32.4 MiB".
    const items = 1947;
    const catalogue = fixtureBundleContents({ items }).catalogue.map((item) => ({
      ...item,
      title: `${item.title} ${'WHITE HANGING HEART T-LIGHT HOLDER '.repeat(3)}`,
      url: `https://shop.example/products/${item.product_id}/${'x'.repeat(20)}`,
    }));
    const catalogueBytes = catalogueFile(catalogue).bytes.byteLength;
    expect(catalogueBytes).toBeGreaterThan(350_000);
    const plan = {
      items,
      rank: 3000,
      graphs: [[{ kind: 'factorized' }], [{ kind: 'factorized' }], [{ kind: 'factorized' }]],
      catalogueBytes,
    } satisfies BundlePlan;
    const message = errorOf(() => checkPlannedBundleSize(plan));
    expect(message).toMatch(
      /^1947 items at rank 1947 make a bundle of about [\d.]+ MiB \(graphs .*, catalogue 0\.\d MiB\): over the 32\.0 MiB a worker takes \(MAX_BUNDLE_BYTES\); train with --rank \d+ or lower, or on fewer items/,
    );
    const rank = suggestedRank(message);
    expect(rank).toBeLessThan(718);
    expect(() => checkPlannedBundleSize({ ...plan, rank })).not.toThrow();
    // Written at that rank, the bundle is under the limit: assembling it does not throw.
    const models = (['personal', 'similar', 'complements'] as const).map((role) =>
      model(role, role, graph(items, { kind: 'factorized' }, rank), { rank }),
    );
    const { files } = assembleBundle({ ...fixtureBundleContents({ items: 1 }), catalogue, models });
    const total = [...files]
      .filter(([n]) => n !== 'manifest.json')
      .reduce((sum, [, f]) => sum + f.byteLength, 0);
    expect(total).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
    // One rank less than the check allows is no waste of more than a rank: the next one would not fit.
    expect(total + 3 * 8 * items).toBeGreaterThan(MAX_BUNDLE_BYTES - 3 * 4096);
  });

  it('before training, counts the larger --personal auto candidate, and says when no rank helps', () => {
    const plan = (graphs: PlannedGraph[][]) => ({ items: 60, rank: 40, graphs, catalogueBytes: 5000 });
    const auto = plan([
      [{ kind: 'factorized' }, { kind: 'autoencoder', hidden: 50 }],
      [{ kind: 'factorized' }],
      [{ kind: 'factorized' }],
    ]);
    const limit = plannedBundleBytes(auto) - 1;
    const rank = suggestedRank(errorOf(() => checkPlannedBundleSize(auto, limit)));
    // The Mult-DAE (hidden 50, larger than EASE at rank 40 or less) may ship; it does not shrink.
    expect(plannedBundleBytes(auto, rank)).toBeLessThanOrEqual(limit);
    expect(plannedBundleBytes(auto, rank)).toBe(
      5000 +
        plannedGraphBytes({ kind: 'autoencoder', hidden: 50 }, 60, rank) +
        2 * plannedGraphBytes({ kind: 'factorized' }, 60, rank),
    );
    expect(() =>
      checkPlannedBundleSize(plan([[{ kind: 'autoencoder', hidden: 30 }], [{ kind: 'dense' }]]), 20_000),
    ).toThrow(
      /60 items make a bundle of .*; train on fewer items \(--catalogue\) or with a smaller --hidden$/,
    );
    // Within the limit, nothing is said.
    expect(() => checkPlannedBundleSize(auto, plannedBundleBytes(auto))).not.toThrow();
  });

  it('the same content gets the same version', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'rx-bundle-'));
    const a = await writeBundle(path.join(root, 'a'), fixtureBundleContents({ items: 5, seed: 3 }));
    const b = await writeBundle(path.join(root, 'b'), fixtureBundleContents({ items: 5, seed: 3 }));
    expect(a.version).toBe(b.version);
  });

  it('the version names the whole manifest but its createdAt: same models, another manifest, another version', () => {
    const contents = fixtureBundleContents({ items: 5, seed: 3 });
    const version = (changed: Partial<BundleContents>) =>
      assembleBundle({ ...contents, ...changed }).manifest;
    const base = version({ createdAt: new Date('2026-01-01T00:00:00Z') });
    // Trained again from the same data: the same version, a manifest differing only in createdAt (the
    // worker's model store takes that as the bundle it holds).
    const again = version({ createdAt: new Date('2026-02-01T00:00:00Z') });
    expect(again.version).toBe(base.version);
    expect({ ...again, createdAt: base.createdAt }).toEqual(base);
    // The same ONNX files and catalogue under another manifest: s5k.csv.gz for s5k.csv, `auto`'s
    // comparison in the metrics, another backend, other params. One version for both, as before, and
    // the model store refused the second manifest under it.
    const others = [
      version({ data: { ...contents.data, source: 's5k.csv.gz' } }),
      version({ metrics: { 'personal/ease': { validationNdcg10: 0.3, validationUsers: 12 } } }),
      version({ backend: 'tensorflow' }),
      version({ models: contents.models.map((m) => ({ ...m, params: { ...m.params, lambda: 100 } })) }),
    ];
    for (const other of others) {
      expect(other.models.map((m) => m.sha256)).toEqual(base.models.map((m) => m.sha256));
      expect(other.catalogue.sha256).toBe(base.catalogue.sha256);
      expect(other.version).not.toBe(base.version);
    }
    expect(new Set(others.map((m) => m.version)).size).toBe(others.length);
  });

  it('reader refuses a tampered model file and a missing manifest', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'rx-bundle-')), 'b');
    const manifest = await writeFixtureBundle(dir, { items: 6 });
    const bundle = await readBundle(dir);
    const entry = bundle.model('similar');
    if (!entry) throw new Error('fixture has no similar model');
    await writeFile(path.join(dir, entry.file), 'not onnx');
    await expect(bundle.modelBytes(entry)).rejects.toThrow(/does not match its sha256/);
    await expect(readBundle(path.join(dir, 'nope'))).rejects.toThrow(BundleError);
    expect(manifest.catalogue.count).toBe(6);
  });

  it('never replaces a folder that is not a bundle (`--out .`, a folder of bundles) nor a file', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'rx-bundle-'));
    const contents = fixtureBundleContents({ items: 5, seed: 3 });
    // A folder of the user's: writing used to rename it aside and delete it, files and all.
    const project = path.join(root, 'project');
    await mkdir(path.join(project, 'models', 'default'), { recursive: true });
    await writeFile(path.join(project, 'orders.csv'), 'precious');
    await expect(writeBundle(project, contents)).rejects.toThrow(BundleTargetError);
    await expect(writeBundle(project, contents)).rejects.toThrow(
      /is no earlier bundle; the bundle replaces the whole folder/,
    );
    expect((await readdir(project)).sort()).toEqual(['models', 'orders.csv']);
    expect(await readFile(path.join(project, 'orders.csv'), 'utf8')).toBe('precious');
    // A bundle folder holding something else too is not replaced either.
    const bundle = path.join(root, 'bundle');
    await writeBundle(bundle, contents);
    await writeFile(path.join(bundle, 'notes.txt'), 'mine');
    await expect(writeBundle(bundle, contents)).rejects.toThrow(/holds "notes\.txt"/);
    await expect(writeBundle(path.join(project, 'orders.csv'), contents)).rejects.toThrow(/it is a file/);
    expect(await readFile(path.join(project, 'orders.csv'), 'utf8')).toBe('precious');
    // An empty folder and an earlier bundle are fine; no temp or old folders are left.
    await mkdir(path.join(root, 'empty'));
    await writeBundle(path.join(root, 'empty'), contents);
    const fresh = path.join(root, 'fresh');
    await writeBundle(fresh, contents);
    await writeBundle(fresh, fixtureBundleContents({ items: 5, seed: 4 }));
    expect((await readdir(root)).sort()).toEqual(['bundle', 'empty', 'fresh', 'project']);
  });
});
