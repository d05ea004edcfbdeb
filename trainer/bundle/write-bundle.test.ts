import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManifestSchema } from '../../contracts/manifest';
import { loadRecommender } from '../onnx/run';
import { fixtureBundleContents, writeFixtureBundle } from './fixture';
import { BundleError, readBundle } from './read-bundle';
import {
  assembleBundle,
  BundleTargetError,
  BundleTooLargeError,
  checkFactorisedSize,
  writeBundle,
} from './write-bundle';

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

  it('refuses a bundle larger than a worker takes, and says which --rank would fit', () => {
    const contents = fixtureBundleContents({ items: 5, seed: 3 });
    // Three 12 MiB graphs at rank 128: 36 MiB, over the 32 MiB a worker takes.
    const big = contents.models.map((model) => ({
      ...model,
      onnx: new Uint8Array(12 * 1024 * 1024),
      params: { ...model.params, rank: 128 },
    }));
    expect(() => assembleBundle({ ...contents, models: big })).toThrow(BundleTooLargeError);
    expect(() => assembleBundle({ ...contents, models: big })).toThrow(
      /over the 32\.0 MiB a worker takes .*lower --rank \(this run: 128; about 113 fits\)/,
    );
    // At the limit, it is written.
    const fits = big.map((model) => ({ ...model, onnx: new Uint8Array(10 * 1024 * 1024) }));
    expect(assembleBundle({ ...contents, models: fits }).manifest.models).toHaveLength(3);
  });

  it('before training, refuses a catalogue whose two item-to-item graphs alone would not fit', () => {
    // 11,000 items at rank 200: two graphs of ~16.8 MiB.
    expect(() => checkFactorisedSize(11_000, 200, 1000)).toThrow(
      /11000 items at rank 200 make graphs of about 16\.8 MiB each.*train with --rank 127 or lower/,
    );
    // Rank 128 there fits (two graphs ~21.5 MiB; the exact size is checked again at the end), and the
    // dense limit or a rank above the item count never trips it.
    expect(() => checkFactorisedSize(11_000, 128, 1000)).not.toThrow();
    expect(() => checkFactorisedSize(1000, 5000, 1000)).not.toThrow();
    expect(() => checkFactorisedSize(1100, 5000, 1000)).not.toThrow();
  });

  it('the same content gets the same version', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'rx-bundle-'));
    const a = await writeBundle(path.join(root, 'a'), fixtureBundleContents({ items: 5, seed: 3 }));
    const b = await writeBundle(path.join(root, 'b'), fixtureBundleContents({ items: 5, seed: 3 }));
    expect(a.version).toBe(b.version);
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
