/**
 * vitest globalSetup (one per worker project) for the edge API tests: starts the local
 * Upstash-compatible server on a real redis-server, a deliberately slow Upstash stand-in, finds a closed
 * port (Redis "down"), and builds model bundles (valid v1 and v2, one with a corrupted model, one missing
 * a model file). Handed to the tests in workerd with `inject('edgeApi')`.
 */
import { createHash } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startLocalUpstash } from '../../scripts/local-upstash/index';
import {
  buildFixtureBundle,
  bundleToBase64,
  failsWithHistoryGraph,
  nanWithHistoryGraph,
  outOfBoundsGraph,
} from './fixture-bundle';
import { startReadOnlyUpstash } from './read-only-upstash';
import { SHOP_STYLE_CATEGORIES, shopStyleProductId } from './shop-style-ids';
import { CLOSED_PORT, startSlowHttpServer } from './slow-http-server';

/** What the edge API tests receive. */
export interface EdgeApiProvided {
  upstash: { url: string; token: string; backend: string };
  /** The local server on its in-memory backend, which runs no Lua scripts. */
  memoryUpstash: { url: string; token: string };
  slowUpstashUrl: string;
  /** The redis-server Upstash behind a stand-in that refuses every write (read-only-upstash.ts). */
  readOnlyUpstashUrl: string;
  slowDelayMs: number;
  deadUpstashUrl: string;
  /** name → file name → base64 bytes */
  bundles: Record<
    | 'v1'
    | 'v2'
    | 'corrupt'
    | 'missing'
    | 'mismatch'
    | 'narrow'
    | 'failing'
    | 'failingAlways'
    | 'nan'
    | 'shopIds',
    Record<string, string>
  >;
}

declare module 'vitest' {
  export interface ProvidedContext {
    edgeApi: EdgeApiProvided;
  }
}

/**
 * How late the slow Upstash stand-in answers. Far beyond anything a request may take here (the one
 * user, edge-faults.integration.test.ts, checks that a request, its inference and its background work
 * included, did not wait for the answer: elapsed < this), so a busy machine cannot blur the two.
 */
const SLOW_DELAY_MS = 30_000;

function corrupted(files: Record<string, string>, file: string): Record<string, string> {
  const bytes = Buffer.from(files[file] ?? '', 'base64');
  // Flip bytes in the middle of the initializer data: still the same size, different sha256.
  const at = Math.floor(bytes.length / 2);
  for (let i = at; i < at + 8 && i < bytes.length; i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
  return { ...files, [file]: bytes.toString('base64') };
}

/**
 * A bundle whose files all match their checksums but whose catalogue has one item more than the
 * graphs' item axis: consistent bytes, inconsistent meaning.
 */
function mismatched(): Record<string, string> {
  const bundle = buildFixtureBundle({ version: 'fixture-mismatch' });
  const catalogue = JSON.parse(Buffer.from(bundle.files['catalogue.json'] ?? []).toString('utf8')) as {
    items: Array<Record<string, unknown>>;
  };
  catalogue.items.push({ ...catalogue.items[0], product_id: 'EXTRA-1' });
  const catalogueBytes = Buffer.from(JSON.stringify(catalogue));
  const manifest = {
    ...bundle.manifest,
    catalogue: {
      ...bundle.manifest.catalogue,
      sha256: createHash('sha256').update(catalogueBytes).digest('hex'),
      count: catalogue.items.length,
    },
  };
  return {
    ...bundleToBase64(bundle),
    'catalogue.json': catalogueBytes.toString('base64'),
    'manifest.json': Buffer.from(JSON.stringify(manifest)).toString('base64'),
  };
}

/** `bundle` with its `similar.onnx` replaced by `graph` (checksums and sizes updated to match). */
function withSimilarGraph(version: string, graph: Uint8Array): Record<string, string> {
  const bundle = buildFixtureBundle({ version });
  const manifest = {
    ...bundle.manifest,
    models: bundle.manifest.models.map((m) =>
      m.role === 'similar'
        ? { ...m, sha256: createHash('sha256').update(graph).digest('hex'), bytes: graph.byteLength }
        : m,
    ),
  };
  return {
    ...bundleToBase64(bundle),
    'similar.onnx': Buffer.from(graph).toString('base64'),
    'manifest.json': Buffer.from(JSON.stringify(manifest)).toString('base64'),
  };
}

/**
 * A bundle whose `similar` graph was exported for 39 items while its manifest (and catalogue) say 40:
 * every checksum matches, only the graph itself knows. The worker must read the graph's own input
 * shape at load time and refuse it, instead of failing every request that runs it.
 */
function narrowGraph(): Record<string, string> {
  const small = buildFixtureBundle({ version: 'unused', items: 39, roles: ['similar'] }).files[
    'similar.onnx'
  ];
  if (!small) throw new Error('fixture has no similar.onnx');
  return withSimilarGraph('fixture-narrow', small);
}

/**
 * A bundle that verifies and loads but whose `similar` graph fails when run for a shopper: the right
 * interface over 40 items, passing the worker's trial run (an empty history), failing with a history.
 */
function failingAtRunTime(): Record<string, string> {
  return withSimilarGraph('fixture-failing', failsWithHistoryGraph(40, 20));
}

/** A bundle whose `similar` graph scores NaN for a shopper with a history (and passes the trial run). */
function nanScores(): Record<string, string> {
  return withSimilarGraph('fixture-nan', nanWithHistoryGraph(40, 20));
}

/** A bundle whose `similar` graph fails whenever it runs (item 1000 gathered): the trial run at load too. */
function failingAlways(): Record<string, string> {
  return withSimilarGraph('fixture-failing-always', outOfBoundsGraph(40, 20));
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [upstash, memoryUpstash, slow] = await Promise.all([
    startLocalUpstash({ backend: 'redis-server' }),
    // A REST server without scripting (as Redis < 7 or another Upstash-compatible proxy may be).
    startLocalUpstash({ backend: 'memory' }),
    startSlowHttpServer(SLOW_DELAY_MS),
  ]);
  const readOnly = await startReadOnlyUpstash(upstash.url);
  const corrupt = bundleToBase64(buildFixtureBundle({ version: 'fixture-corrupt' }));
  const missing = bundleToBase64(buildFixtureBundle({ version: 'fixture-missing' }));
  delete missing['complements.onnx'];
  project.provide('edgeApi', {
    upstash: { url: upstash.url, token: upstash.token, backend: upstash.backend },
    memoryUpstash: { url: memoryUpstash.url, token: memoryUpstash.token },
    slowUpstashUrl: slow.url,
    readOnlyUpstashUrl: readOnly.url,
    slowDelayMs: SLOW_DELAY_MS,
    deadUpstashUrl: `http://127.0.0.1:${CLOSED_PORT}`,
    bundles: {
      v1: bundleToBase64(buildFixtureBundle({ version: 'fixture-v1' })),
      v2: bundleToBase64(buildFixtureBundle({ version: 'fixture-v2' })),
      corrupt: corrupted(corrupt, 'similar.onnx'),
      missing,
      mismatch: mismatched(),
      narrow: narrowGraph(),
      failing: failingAtRunTime(),
      failingAlways: failingAlways(),
      nan: nanScores(),
      shopIds: bundleToBase64(
        buildFixtureBundle({
          version: 'fixture-shop-ids',
          productId: shopStyleProductId,
          categories: SHOP_STYLE_CATEGORIES,
        }),
      ),
    },
  });
  return async () => {
    await Promise.all([upstash.close(), memoryUpstash.close(), slow.close(), readOnly.close()]);
  };
}
