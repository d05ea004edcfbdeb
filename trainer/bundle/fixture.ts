/**
 * Synthetic model bundles for tests and benchmarks (e.g. the worker's corrupt/missing-file tests and
 * the 10,000-item inference benchmark): real ONNX graphs of the shipped kinds with seeded random
 * weights and a generated catalogue, written by the same atomic writer as trained bundles.
 */
import type { CatalogueItem, Manifest } from '../../contracts/manifest';
import { gaussian, seededRandom } from '../math/random';
import { buildRecommenderGraph } from '../onnx/recommender-graphs';
import { type BundleContents, TRAINER, writeBundle } from './write-bundle';

/** Options of a synthetic bundle. */
export interface FixtureBundleOptions {
  /** Catalogue size (item axis of every graph). Default 20. */
  items?: number;
  /** Hidden size of the personal autoencoder and rank of the factorised item-item graphs. Default 8. */
  hidden?: number;
  /** Top-k of every graph. Default 10. */
  k?: number;
  seed?: number;
  /** Product ids; default `P0001`, `P0002`, … */
  productIds?: string[];
}

function randomMatrix(length: number, scale: number, normal: () => number): Float32Array {
  return Float32Array.from({ length }, () => normal() * scale);
}

/** Bundle contents with random weights: personal (autoencoder), similar and complements (factorised). */
export function fixtureBundleContents(options: FixtureBundleOptions = {}): BundleContents {
  const n = options.items ?? 20;
  const hidden = options.hidden ?? 8;
  const k = options.k ?? 10;
  const normal = gaussian(seededRandom(options.seed ?? 1));
  const ids = options.productIds ?? Array.from({ length: n }, (_, i) => `P${String(i + 1).padStart(4, '0')}`);
  if (ids.length !== n) throw new Error(`productIds has ${ids.length} ids for ${n} items`);
  const catalogue: CatalogueItem[] = ids.map((id, i) => ({
    product_id: id,
    title: `Test product ${i + 1}`,
    url: `/products/${encodeURIComponent(id)}`,
    image: `/images/${encodeURIComponent(id)}.svg`,
    price: Math.round((1 + ((i * 37) % 100) / 4) * 100) / 100,
    currency: 'GBP',
    category: ['kitchen', 'garden', 'party', 'candles'][i % 4] ?? 'other',
    available: true,
    popularity: n - i,
  }));
  const graph = (name: string, body: Parameters<typeof buildRecommenderGraph>[0]['body']) =>
    buildRecommenderGraph({ name, items: n, k, body, producerVersion: TRAINER.version });
  const scale = 1 / Math.sqrt(hidden);
  const factorized = () => ({
    kind: 'factorized' as const,
    rank: hidden,
    u: randomMatrix(n * hidden, scale, normal),
    v: randomMatrix(hidden * n, scale, normal),
  });
  return {
    catalogue,
    backend: 'fixture',
    data: { format: 'events', source: 'fixture', from: null, to: null, interactions: 0, users: 0, items: n },
    models: [
      {
        name: 'personal',
        role: 'personal',
        k,
        params: { kind: 'autoencoder', hidden, fixture: true },
        onnx: graph('personal', {
          kind: 'autoencoder',
          hidden,
          w1: randomMatrix(n * hidden, scale, normal),
          b1: randomMatrix(hidden, 0.1, normal),
          w2: randomMatrix(hidden * n, scale, normal),
          b2: randomMatrix(n, 0.1, normal),
        }),
      },
      {
        name: 'similar',
        role: 'similar',
        k,
        params: { kind: 'factorized', rank: hidden, fixture: true },
        onnx: graph('similar', factorized()),
      },
      {
        name: 'complements',
        role: 'complements',
        k,
        params: { kind: 'factorized', rank: hidden, fixture: true },
        onnx: graph('complements', factorized()),
      },
    ],
  };
}

/** Writes a synthetic bundle to `dir` (atomically) and returns its manifest. */
export function writeFixtureBundle(dir: string, options: FixtureBundleOptions = {}): Promise<Manifest> {
  return writeBundle(dir, fixtureBundleContents(options));
}
