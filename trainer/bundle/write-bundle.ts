/**
 * Writes a model bundle (contracts/manifest.ts) atomically: every file goes into a temporary sibling
 * folder, the manifest is validated against ManifestSchema, and only then does the folder replace
 * the target by rename. A crash leaves at most a `.tmp-*` folder that no loader looks at.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type Catalogue,
  type CatalogueItem,
  CatalogueSchema,
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

/** Writes the bundle into `dir` atomically (temp folder + rename) and returns its manifest. */
export async function writeBundle(dir: string, contents: BundleContents): Promise<Manifest> {
  const { manifest, files } = assembleBundle(contents);
  const target = path.resolve(dir);
  await mkdir(path.dirname(target), { recursive: true });
  const suffix = randomBytes(4).toString('hex');
  const temp = `${target}.tmp-${suffix}`;
  await mkdir(temp);
  try {
    // manifest.json last: a reader that sees it sees every file it lists.
    for (const [name, bytes] of [...files].sort(
      ([a], [b]) => Number(a === 'manifest.json') - Number(b === 'manifest.json'),
    )) {
      await writeFile(path.join(temp, name), bytes);
    }
    const old = `${target}.old-${suffix}`;
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (exists) await rename(target, old);
    await rename(temp, target);
    if (exists) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return manifest;
}
