/**
 * Writes a model bundle (contracts/manifest.ts) atomically: every file goes into a temporary sibling
 * folder, the manifest is validated against ManifestSchema, and only then does the folder replace
 * the target by rename. A crash leaves at most a `.tmp-*` folder that no loader looks at.
 * The target is replaced only when it is new, empty or an earlier bundle (checkBundleTarget).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type Catalogue,
  type CatalogueItem,
  CatalogueSchema,
  MAX_BUNDLE_BYTES,
  type Manifest,
  ManifestSchema,
  type ModelRole,
} from '../../contracts/manifest';
import { graphSpecs } from '../onnx/recommender-graphs';

/** The trainer's name and version as recorded in manifests and ONNX producer fields. */
export const TRAINER = { name: 'rx-trainer', version: '0.1.0' } as const;

/** One exported model to put in the bundle. */
export interface BundleModel {
  name: string;
  role: ModelRole;
  /** Serialised ONNX graph (see buildRecommenderGraph). */
  onnx: Uint8Array;
  k: number;
  params?: Record<string, number | string | boolean>;
}

/** Everything a bundle is made of. */
export interface BundleContents {
  catalogue: CatalogueItem[];
  models: BundleModel[];
  data: Manifest['data'];
  backend: string;
  metrics?: Manifest['metrics'];
  createdAt?: Date;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Builds the manifest and the file contents of a bundle without touching the disk. */
export function assembleBundle(contents: BundleContents): {
  manifest: Manifest;
  files: Map<string, Uint8Array>;
} {
  const catalogue: Catalogue = CatalogueSchema.parse({ items: contents.catalogue });
  const catalogueBytes = new TextEncoder().encode(`${JSON.stringify(catalogue)}\n`);
  const files = new Map<string, Uint8Array>([['catalogue.json', catalogueBytes]]);
  const items = catalogue.items.length;
  const models = contents.models.map((m) => {
    const file = `${m.name}.onnx`;
    if (files.has(file)) throw new Error(`two models are named ${m.name}`);
    files.set(file, m.onnx);
    return {
      name: m.name,
      role: m.role,
      file,
      sha256: sha256(m.onnx),
      bytes: m.onnx.byteLength,
      k: Math.min(m.k, items),
      ...graphSpecs(items, m.k),
      params: m.params ?? {},
    };
  });
  checkBundleSize(contents.models, catalogueBytes.byteLength);
  // The version is derived from the content: same files, same version (cache keys stay valid),
  // any change, a new version.
  const contentHash = sha256([sha256(catalogueBytes), ...models.map((m) => m.sha256)].join(':'));
  const manifest = ManifestSchema.parse({
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    version: `rx-${contentHash.slice(0, 16)}`,
    createdAt: (contents.createdAt ?? new Date()).toISOString(),
    trainer: { ...TRAINER, backend: contents.backend },
    data: contents.data,
    catalogue: {
      file: 'catalogue.json',
      sha256: sha256(catalogueBytes),
      count: items,
      fields: Object.keys(catalogue.items[0] ?? {}),
    },
    models,
    metrics: contents.metrics ?? {},
  });
  files.set('manifest.json', new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return { manifest, files };
}

/** Thrown when the bundle is larger than a worker takes (MAX_BUNDLE_BYTES). */
export class BundleTooLargeError extends Error {
  override readonly name = 'BundleTooLargeError';
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * Refuses a bundle the worker would refuse (MAX_BUNDLE_BYTES, contracts/manifest.ts), before it is
 * written: a run that exits 0 with a bundle no worker can activate is found out only at publish. Past
 * 1,000 items each graph is factorised, about 8 × rank bytes per item, so three graphs at rank 128 pass
 * 32 MiB near 11,000 items: the message says which rank would fit (bytes scale with it).
 */
function checkBundleSize(models: readonly BundleModel[], catalogueBytes: number): void {
  const modelBytes = models.reduce((sum, model) => sum + model.onnx.byteLength, 0);
  if (modelBytes + catalogueBytes <= MAX_BUNDLE_BYTES) return;
  const ranks = models.map((model) => model.params?.rank).filter((rank) => typeof rank === 'number');
  const rank = ranks.length > 0 ? Math.max(...ranks) : undefined;
  const fitting = rank && Math.floor((rank * (MAX_BUNDLE_BYTES - catalogueBytes)) / modelBytes);
  const hint = rank
    ? `train again with a lower --rank (this run: ${rank}; about ${fitting} fits)`
    : 'train again on fewer items (--catalogue) or with a smaller --hidden';
  throw new BundleTooLargeError(
    `the bundle would be ${mib(modelBytes + catalogueBytes)} (models ${mib(modelBytes)}, catalogue ${mib(catalogueBytes)}), over the ${mib(MAX_BUNDLE_BYTES)} a worker takes (MAX_BUNDLE_BYTES): ${hint}`,
  );
}

/**
 * Before training: the similar and complements graphs of a catalogue past the dense limit are each about
 * 8 bytes × rank per item (two float32 factors), whatever the personal model. When those two alone pass
 * what a worker takes, the bundle cannot fit, and that is said now, not after minutes of training (the
 * exact size is checked again when the bundle is assembled).
 */
export function checkFactorisedSize(items: number, rank: number, maxDenseItems: number): void {
  if (items <= maxDenseItems) return;
  const effectiveRank = Math.min(rank, items);
  const graphBytes = 8 * items * effectiveRank;
  if (2 * graphBytes <= MAX_BUNDLE_BYTES) return;
  // Three factorised graphs at about 8 × rank bytes per item each must fit.
  const fitting = Math.floor(MAX_BUNDLE_BYTES / (3 * 8 * items));
  throw new BundleTooLargeError(
    `${items} items at rank ${effectiveRank} make graphs of about ${mib(graphBytes)} each, and a bundle holds three: over the ${mib(MAX_BUNDLE_BYTES)} a worker takes (MAX_BUNDLE_BYTES); train with --rank ${fitting} or lower, or on fewer items (--catalogue)`,
  );
}

/** Thrown when the bundle cannot or must not be written where it was asked to go. */
export class BundleTargetError extends Error {
  override readonly name = 'BundleTargetError';
}

/** Names a bundle folder holds: the only entries a folder may have for writeBundle to replace it. */
function isBundleFile(name: string): boolean {
  return name === 'manifest.json' || name === 'catalogue.json' || name.endsWith('.onnx');
}

/** What is at `target` (null when nothing is), or `fail`'s error when it cannot even be looked at. */
export async function existingEntry(target: string, fail: (why: string) => Error): Promise<Stats | null> {
  return stat(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw fail(`cannot inspect it (${error.code ?? error.message})`);
  });
}

/**
 * Creates `target`'s parent folder and proves it writable by creating (and removing) a probe beside
 * `target`, so a long run cannot fail only at its end for want of a place to write.
 */
export async function checkWritableParent(target: string, fail: (why: string) => Error): Promise<void> {
  const resolved = path.resolve(target);
  const parent = path.dirname(resolved);
  await mkdir(parent, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw fail(`cannot create ${parent} (${error.code ?? error.message})`);
  });
  const probe = `${resolved}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(probe).catch((error: NodeJS.ErrnoException) => {
    throw fail(`cannot write in ${parent} (${error.code ?? error.message})`);
  });
  await rm(probe, { recursive: true, force: true });
}

/**
 * Checks, before any training, that `dir` can receive a bundle: it does not exist, is an empty
 * folder, or is an earlier bundle (manifest.json and only bundle files). Writing replaces the whole
 * folder and deletes what was there, so `--out .` or `--out models` (a folder of bundles) must be
 * refused, not emptied. Also creates the parent and proves it writable with a probe folder.
 */
export async function checkBundleTarget(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const fail = (why: string) => new BundleTargetError(`cannot write a bundle to ${dir}: ${why}`);
  const existing = await existingEntry(target, fail);
  if (existing && !existing.isDirectory()) throw fail('it is a file, not a bundle folder');
  if (existing) {
    const entries = await readdir(target, { withFileTypes: true });
    const foreign = entries.find((e) => !e.isFile() || !isBundleFile(e.name));
    const isBundle = entries.some((e) => e.name === 'manifest.json');
    if (foreign || (entries.length > 0 && !isBundle))
      throw fail(
        `it holds ${foreign ? `"${foreign.name}"` : 'files'} and is no earlier bundle; the bundle replaces the whole folder, so pass a new or empty folder, or an earlier bundle's`,
      );
  }
  await checkWritableParent(target, fail);
}

/** Writes the bundle into `dir` atomically (temp folder + rename) and returns its manifest. */
export async function writeBundle(dir: string, contents: BundleContents): Promise<Manifest> {
  const { manifest, files } = assembleBundle(contents);
  await checkBundleTarget(dir);
  const target = path.resolve(dir);
  const suffix = randomBytes(4).toString('hex');
  const temp = `${target}.tmp-${suffix}`;
  const old = `${target}.old-${suffix}`;
  await mkdir(temp);
  let moved = false;
  try {
    // manifest.json last: a reader that sees it sees every file it lists.
    for (const [name, bytes] of [...files].sort(
      ([a], [b]) => Number(a === 'manifest.json') - Number(b === 'manifest.json'),
    )) {
      await writeFile(path.join(temp, name), bytes);
    }
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (exists) {
      await rename(target, old);
      moved = true;
    }
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    // The earlier bundle goes back where it was: a failed write must not leave the folder missing.
    if (moved) await rename(old, target).catch(() => {});
    throw error;
  }
  if (moved) await rm(old, { recursive: true, force: true });
  return manifest;
}
