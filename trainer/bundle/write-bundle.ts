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
import { canonicalJson } from '../../contracts/canonical-json';
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

/**
 * The version of the bundle `manifest` describes, derived from its content: the manifest as written
 * but for `createdAt` (and the version itself), every file's sha256 included. The same bundle, trained
 * again from the same data, gets the same version (cache keys stay valid) and a manifest differing
 * only in `createdAt`, which the worker's model store takes as the bundle it already holds; any other
 * change, a new version. Hashing the files alone, as before, gave bundles of the same models but
 * another manifest (the data's file name, `--personal ease` or `auto`'s comparison in params and
 * metrics, the backend) one version, and the model store refused the second manifest under it.
 */
export function contentVersion(manifest: Manifest): string {
  const { createdAt: _createdAt, version: _version, ...content } = manifest;
  // Through JSON first: what manifest.json says (no undefined fields), keys sorted at every level.
  return `rx-${sha256(canonicalJson(JSON.parse(JSON.stringify(content)))).slice(0, 16)}`;
}

/** The bundle's catalogue.json: the items as the contract reads them, and the file's bytes. */
export function catalogueFile(items: CatalogueItem[]): { catalogue: Catalogue; bytes: Uint8Array } {
  const catalogue: Catalogue = CatalogueSchema.parse({ items });
  return { catalogue, bytes: new TextEncoder().encode(`${JSON.stringify(catalogue)}\n`) };
}

/**
 * Builds the manifest and the file contents of a bundle without touching the disk. `maxBytes` is
 * MAX_BUNDLE_BYTES but in tests.
 */
export function assembleBundle(
  contents: BundleContents,
  maxBytes = MAX_BUNDLE_BYTES,
): {
  manifest: Manifest;
  files: Map<string, Uint8Array>;
} {
  const { catalogue, bytes: catalogueBytes } = catalogueFile(contents.catalogue);
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
  checkBundleSize(contents.models, items, catalogueBytes.byteLength, maxBytes);
  const described = ManifestSchema.parse({
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    version: 'rx-unnamed',
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
  const manifest: Manifest = { ...described, version: contentVersion(described) };
  files.set('manifest.json', new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  return { manifest, files };
}

/** Thrown when the bundle is larger than a worker takes (MAX_BUNDLE_BYTES). */
export class BundleTooLargeError extends Error {
  override readonly name = 'BundleTooLargeError';
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The largest rank, at most `rank`, for which `bytesAt(rank)` is within `maxBytes`; undefined when not
 * even rank 1 is (`bytesAt` grows with the rank).
 */
function largestFittingRank(rank: number, maxBytes: number, bytesAt: (rank: number) => number) {
  if (bytesAt(1) > maxBytes) return undefined;
  let low = 1;
  let high = rank;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (bytesAt(mid) <= maxBytes) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * Refuses a bundle the worker would refuse (MAX_BUNDLE_BYTES, contracts/manifest.ts), before it is
 * written: a run that exits 0 with a bundle no worker can activate is found out only at publish. Past
 * 1,000 items each graph is factorised, 8 × rank bytes per item plus a rank-free rest (the diagonal, the
 * graph's nodes), so the message names the largest rank at which this bundle fits: only the factorised
 * graphs' weights shrink with it, the catalogue, an autoencoder and each graph's rest do not.
 */
function checkBundleSize(
  models: readonly BundleModel[],
  items: number,
  catalogueBytes: number,
  maxBytes: number,
): void {
  const modelBytes = models.reduce((sum, model) => sum + model.onnx.byteLength, 0);
  if (modelBytes + catalogueBytes <= maxBytes) return;
  const rankOf = (model: BundleModel) => {
    const rank = model.params?.rank;
    return typeof rank === 'number' ? rank : undefined;
  };
  const ranks = models.map(rankOf).filter((rank) => rank !== undefined);
  const rank = ranks.length > 0 ? Math.max(...ranks) : undefined;
  // Each factorised graph at rank r: its bytes less 8 × items × (its rank − r), U and V's share.
  const bytesAt = (r: number) =>
    catalogueBytes +
    models.reduce((sum, model) => {
      const own = rankOf(model);
      return sum + model.onnx.byteLength - (own === undefined ? 0 : 8 * items * (own - Math.min(own, r)));
    }, 0);
  const fitting = rank === undefined ? undefined : largestFittingRank(rank, maxBytes, bytesAt);
  const hint = fitting
    ? `train again with --rank ${fitting} or lower (this run: ${rank})`
    : 'train again on fewer items (--catalogue) or with a smaller --hidden';
  throw new BundleTooLargeError(
    `the bundle would be ${mib(modelBytes + catalogueBytes)} (models ${mib(modelBytes)}, catalogue ${mib(catalogueBytes)}), over the ${mib(maxBytes)} a worker takes (MAX_BUNDLE_BYTES): ${hint}`,
  );
}

/** One graph a run will export, as far as its size goes (see ScoringBody). */
export type PlannedGraph =
  /** items × items float32. */
  | { kind: 'dense' }
  /** U [items, rank] and V [rank, items] float32 at the run's rank (at most the item count). */
  | { kind: 'factorized' }
  /** W1 [items, hidden], W2 [hidden, items] and the biases, float32. */
  | { kind: 'autoencoder'; hidden: number };

/**
 * What a graph holds beyond its weight tensors: node, tensor and input names, shapes, the scalar
 * constants, the doc string. About 800 bytes measured; 4 KiB bounds it.
 */
const GRAPH_REST_BYTES = 4096;

/** A graph's bytes, at most (the weights are exact; the rest is bounded by GRAPH_REST_BYTES). */
export function plannedGraphBytes(graph: PlannedGraph, items: number, rank: number): number {
  switch (graph.kind) {
    case 'dense':
      return 4 * items * items + GRAPH_REST_BYTES;
    case 'factorized':
      // U and V, and the diagonal taken out (self_scores, one float per item).
      return 8 * items * Math.min(rank, items) + 4 * items + GRAPH_REST_BYTES;
    case 'autoencoder':
      return 8 * items * graph.hidden + 4 * (graph.hidden + items) + GRAPH_REST_BYTES;
  }
}

/** What a run will bundle, known before training. */
export interface BundlePlan {
  items: number;
  /** `--rank`: the rank of every factorised graph (at most `items`). */
  rank: number;
  /**
   * The graphs, one entry each; an entry lists the graphs it may turn out to be (`--personal auto`
   * ships EASE or the Mult-DAE), and the largest counts.
   */
  graphs: PlannedGraph[][];
  /** catalogue.json's bytes (catalogueFile), which count towards the limit with the graphs. */
  catalogueBytes: number;
}

/** The bundle's bytes at `rank`, at most: the largest candidate of each graph, plus catalogue.json. */
export function plannedBundleBytes(plan: BundlePlan, rank = plan.rank): number {
  return plan.graphs.reduce(
    (sum, candidates) =>
      sum + Math.max(...candidates.map((graph) => plannedGraphBytes(graph, plan.items, rank))),
    plan.catalogueBytes,
  );
}

/**
 * Before training: refuses a run whose bundle would be over what a worker takes, from its plan (every
 * graph with its rank-free rest, and catalogue.json), rather than after minutes of training; the exact
 * size is checked again when the bundle is assembled. The message names the largest rank at which the
 * planned bundle fits. (Counting only the factorised graphs' weights, it named ranks that did not: on
 * 1,947 items it said 718, and the bundle at 718 was 32.4 MiB.)
 */
export function checkPlannedBundleSize(plan: BundlePlan, maxBytes = MAX_BUNDLE_BYTES): void {
  const rank = Math.min(plan.rank, plan.items);
  const bytes = plannedBundleBytes(plan, rank);
  if (bytes <= maxBytes) return;
  const factorised = plan.graphs.some((candidates) => candidates.some((g) => g.kind === 'factorized'));
  const fitting = factorised
    ? largestFittingRank(rank, maxBytes, (r) => plannedBundleBytes(plan, r))
    : undefined;
  const autoencoder = plan.graphs.some((candidates) => candidates.some((g) => g.kind === 'autoencoder'));
  const graphs = plan.graphs.map((candidates) =>
    Math.max(...candidates.map((graph) => plannedGraphBytes(graph, plan.items, rank))),
  );
  const hint = fitting
    ? `train with --rank ${fitting} or lower, or on fewer items (--catalogue)`
    : `train on fewer items (--catalogue)${autoencoder ? ' or with a smaller --hidden' : ''}`;
  throw new BundleTooLargeError(
    `${plan.items} items${factorised ? ` at rank ${rank}` : ''} make a bundle of about ${mib(bytes)} (graphs ${graphs.map(mib).join(', ')}, catalogue ${mib(plan.catalogueBytes)}): over the ${mib(maxBytes)} a worker takes (MAX_BUNDLE_BYTES); ${hint}`,
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
