/**
 * Builds small, fully valid model bundles (manifest + catalogue + ONNX graphs) for the worker's tests and
 * benchmarks, with the trainer's ONNX writer, so the worker is exercised on the same kind of files the
 * trainer ships. The catalogue has an obvious structure that tests can check against:
 * item i is in category `CATEGORIES[i % 4]`, item 0 is the most popular, the last item is unavailable;
 * `similar` links items of the same category, `complements` links category c to category c+1,
 * `personal` is a rank-4 factorization that maps a history onto its categories.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type CatalogueItem,
  type Manifest,
  ManifestSchema,
  type ModelRole,
} from '../../contracts/manifest';
import { GraphBuilder } from '../../trainer/onnx/graph-builder';
import { buildRecommenderGraph, graphSpecs, type ScoringBody } from '../../trainer/onnx/recommender-graphs';

export const FIXTURE_CATEGORIES = ['mugs', 'candles', 'bags', 'toys'] as const;

/** Options of {@link buildFixtureBundle}. */
export interface FixtureBundleOptions {
  version: string;
  /** Catalogue size; default 40. */
  items?: number;
  /** Top-k of every graph; default 20. */
  k?: number;
  /** Which models to include; default all three. */
  roles?: ModelRole[];
  /** Rank of the `personal` factorization; default 4 (one factor per category). Benchmarks use 64. */
  rank?: number;
  /** Item i's product id; default {@link fixtureProductId}. */
  productId?: (index: number) => string;
  /** The names of the four categories; default {@link FIXTURE_CATEGORIES}. */
  categories?: readonly [string, string, string, string];
}

/** A bundle in memory: file name → bytes, plus the parsed manifest. */
export interface FixtureBundle {
  manifest: Manifest;
  files: Record<string, Uint8Array>;
}

export function fixtureProductId(index: number): string {
  return `P${10_000 + index}`;
}

export function fixtureCategory(index: number): string {
  return FIXTURE_CATEGORIES[index % FIXTURE_CATEGORIES.length] ?? 'mugs';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function catalogueItems(
  count: number,
  productId: (index: number) => string,
  categories: readonly string[],
): CatalogueItem[] {
  return Array.from({ length: count }, (_, i) => ({
    product_id: productId(i),
    title: `Fixture ${fixtureCategory(i)} ${i}`,
    url: `/products/${encodeURIComponent(productId(i))}`,
    image: `/images/${encodeURIComponent(productId(i))}.jpg`,
    price: 1 + (i % 10) * 0.5,
    currency: 'GBP',
    category: categories[i % categories.length] ?? 'mugs',
    available: i !== count - 1,
    popularity: count - i,
  }));
}

function categoryIndex(i: number): number {
  return i % FIXTURE_CATEGORIES.length;
}

/** Same category, closer ids score higher (so rankings are deterministic without ties). */
function similarBody(n: number): ScoringBody {
  const matrix = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j && categoryIndex(i) === categoryIndex(j)) matrix[i * n + j] = 1 + 1 / (1 + Math.abs(i - j));
    }
  }
  return { kind: 'dense', matrix };
}

/** Category c is complemented by category c+1. */
function complementsBody(n: number): ScoringBody {
  const matrix = new Float32Array(n * n);
  const c = FIXTURE_CATEGORIES.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (categoryIndex(j) === (categoryIndex(i) + 1) % c) matrix[i * n + j] = 1 + 1 / (1 + j);
    }
  }
  return { kind: 'dense', matrix };
}

/** history · U · V: U one-hot on the item's category (first 4 factors), V spreads a category back to its items. */
function personalBody(n: number, rank: number): ScoringBody {
  const u = new Float32Array(n * rank);
  const v = new Float32Array(rank * n);
  for (let i = 0; i < n; i++) {
    const factor = categoryIndex(i) % rank;
    u[i * rank + factor] = 1;
    v[factor * n + i] = 1 + 1 / (1 + i);
  }
  // Extra factors carry small deterministic noise so a large rank costs real work in benchmarks.
  for (let f = FIXTURE_CATEGORIES.length; f < rank; f++) {
    for (let i = 0; i < n; i++) {
      u[i * rank + f] = (((i * 31 + f * 17) % 97) - 48) / 4800;
      v[f * n + i] = (((i * 13 + f * 7) % 89) - 44) / 4400;
    }
  }
  return { kind: 'factorized', rank, u, v };
}

/** Builds a valid bundle in memory. */
export function buildFixtureBundle(options: FixtureBundleOptions): FixtureBundle {
  const n = options.items ?? 40;
  const k = options.k ?? 20;
  const roles = options.roles ?? ['personal', 'similar', 'complements'];
  const items = catalogueItems(
    n,
    options.productId ?? fixtureProductId,
    options.categories ?? FIXTURE_CATEGORIES,
  );
  const catalogueBytes = new TextEncoder().encode(JSON.stringify({ items }));
  const files: Record<string, Uint8Array> = { 'catalogue.json': catalogueBytes };
  const models: Manifest['models'] = [];
  for (const role of roles) {
    const body =
      role === 'similar'
        ? similarBody(n)
        : role === 'complements'
          ? complementsBody(n)
          : personalBody(n, options.rank ?? 4);
    const bytes = buildRecommenderGraph({ name: role, items: n, k, body, producerVersion: 'fixture' });
    const file = `${role}.onnx`;
    files[file] = bytes;
    models.push({
      name: role,
      role,
      file,
      sha256: sha256(bytes),
      bytes: bytes.byteLength,
      k: Math.min(k, n),
      ...graphSpecs(n, k),
      params: { fixture: true, kind: body.kind },
    });
  }
  const manifest = ManifestSchema.parse({
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    version: options.version,
    createdAt: new Date(0).toISOString(),
    trainer: { name: 'fixture', version: '0', backend: 'none' },
    data: { format: 'events', source: 'fixture', from: null, to: null, interactions: 0, users: 0, items: n },
    catalogue: {
      file: 'catalogue.json',
      sha256: sha256(catalogueBytes),
      count: n,
      fields: [
        'product_id',
        'title',
        'url',
        'image',
        'price',
        'currency',
        'category',
        'available',
        'popularity',
      ],
    },
    models,
    metrics: {},
  });
  files['manifest.json'] = new TextEncoder().encode(JSON.stringify(manifest, null, 2));
  return { manifest, files };
}

/** Writes a bundle to a folder (created if needed). */
export async function writeFixtureBundle(bundle: FixtureBundle, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(bundle.files)) await writeFile(path.join(dir, name), bytes);
}

/** Base64 of every file, for passing a bundle from a Node global setup into workerd tests. */
export function bundleToBase64(bundle: FixtureBundle): Record<string, string> {
  return Object.fromEntries(
    Object.entries(bundle.files).map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')]),
  );
}

/**
 * A graph with the bundle interface over `items` items that loads but fails whenever it runs: its scores
 * gather item 1000, which ORT checks only at run time. The worker's trial run at load refuses it.
 */
export function outOfBoundsGraph(items: number, k: number): Uint8Array {
  return gatherGraph(items, k, 'out-of-bounds', (g) =>
    g.int64Tensor(
      'picks',
      [items],
      Array.from({ length: items }, (_, i) => (i === 0 ? 1000 : i)),
    ),
  );
}

/**
 * A graph that passes the worker's trial run at load (an empty history) and fails on every request
 * with a history: it gathers item `i + 1e6 × max(history)`, in range only while the history is all 0.
 * For tests of run-time model failures (popularity stands in, /healthz shows it).
 */
export function failsWithHistoryGraph(items: number, k: number): Uint8Array {
  return gatherGraph(items, k, 'fails-with-history', (g) => {
    const largest = g.op('ReduceMax', ['history'], { keepdims: 0 });
    const scaled = g.op('Mul', [largest, g.floatTensor('million', [], Float32Array.of(1e6))]);
    const offset = g.op('Cast', [scaled], { to: 7 }); // int64
    const picks = g.int64Tensor(
      'picks',
      [items],
      Array.from({ length: items }, (_, i) => i),
    );
    return g.op('Add', [picks, offset]);
  });
}

/**
 * A graph that passes the worker's trial run and scores NaN for every shopper with a history: it adds
 * `sqrt(-max(history))`, 0 for an empty history and NaN otherwise. Runs without failing, so only the
 * scores show the fault.
 */
export function nanWithHistoryGraph(items: number, k: number): Uint8Array {
  return gatherGraph(
    items,
    k,
    'nan-with-history',
    (g) =>
      g.int64Tensor(
        'picks',
        [items],
        Array.from({ length: items }, (_, i) => i),
      ),
    (g) => g.op('Sqrt', [g.op('Neg', [g.op('ReduceMax', ['history'], { keepdims: 0 })])]),
  );
}

/**
 * scores = history gathered at `picks(g)` + mask (+ `extra(g)`), then TopK: the bundle interface over
 * `items`.
 */
function gatherGraph(
  items: number,
  k: number,
  name: string,
  picks: (g: GraphBuilder) => string,
  extra?: (g: GraphBuilder) => string,
): Uint8Array {
  const specs = graphSpecs(items, k);
  const g = new GraphBuilder(name);
  for (const input of specs.inputs) g.input({ name: input.name, type: 'float32', shape: input.shape });
  const gathered = g.op('Gather', ['history', picks(g)], { axis: 1 });
  const masked = g.op('Add', [gathered, 'mask']);
  const scores = extra ? g.op('Add', [masked, extra(g)]) : masked;
  const kTensor = g.int64Tensor('k', [1], [Math.min(k, items)]);
  g.node('TopK', [scores, kTensor], { axis: -1, largest: 1, sorted: 1 }, ['scores', 'indices']);
  for (const output of specs.outputs) {
    g.output({ name: output.name, type: output.type === 'int64' ? 'int64' : 'float32', shape: output.shape });
  }
  return g.toBytes({ producer: 'rx-test', producerVersion: '0', doc: name });
}
