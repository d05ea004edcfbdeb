/**
 * Runs exported recommender graphs in onnxruntime-web (its WASM backend) under Node.js: the same
 * runtime the worker uses, so `npm run recommend`, `npm run eval` and the parity tests measure the
 * files that will be served, not the TF.js model they came from.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-web';
import { GRAPH_IO } from '../../contracts/manifest';

// One thread: deterministic, and Node.js has no cross-origin-isolated SharedArrayBuffer workers
// for ORT's thread pool anyway; the proxy worker is a browser feature.
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = 'error';

/** Top-k of one batch: row-major [batch, k]. */
export interface TopKResult {
  batch: number;
  k: number;
  scores: Float32Array;
  /** Item indices (catalogue order) as plain numbers. */
  indices: Int32Array;
}

/** A loaded recommender graph. */
export interface RecommenderRunner {
  /** Number of items on the graph's item axis. */
  readonly items: number;
  /** Scores a batch: `history` and `mask` are row-major [batch, items]. */
  run(history: Float32Array, mask: Float32Array, batch: number): Promise<TopKResult>;
  /** Frees the ORT session. */
  close(): Promise<void>;
}

/** Loads a recommender graph from its bytes or a file path. */
export async function loadRecommender(model: Uint8Array | string): Promise<RecommenderRunner> {
  const bytes = typeof model === 'string' ? new Uint8Array(await readFile(model)) : model;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const items = itemAxisSize(session);
  return {
    items,
    async run(history, mask, batch) {
      if (history.length !== batch * items || mask.length !== batch * items) {
        throw new Error(
          `history and mask must have ${batch}×${items} values, got ${history.length} and ${mask.length}`,
        );
      }
      const out = await session.run({
        [GRAPH_IO.history]: new ort.Tensor('float32', history, [batch, items]),
        [GRAPH_IO.mask]: new ort.Tensor('float32', mask, [batch, items]),
      });
      const scores = out[GRAPH_IO.scores];
      const indices = out[GRAPH_IO.indices];
      if (!scores || !indices) throw new Error('graph did not return scores and indices');
      const k = scores.dims[1] ?? 0;
      const rawIndices = indices.data as BigInt64Array;
      return {
        batch,
        k,
        scores: Float32Array.from(scores.data as Float32Array),
        indices: Int32Array.from(rawIndices, (v) => Number(v)),
      };
    },
    close: () => session.release(),
  };
}

/** The fixed item-axis size declared on the graph's `history` input. */
function itemAxisSize(session: ort.InferenceSession): number {
  const meta = session.inputMetadata.find((m) => m.name === GRAPH_IO.history);
  if (!meta?.isTensor) throw new Error(`graph has no tensor input named ${GRAPH_IO.history}`);
  const items = meta.shape[1];
  if (typeof items !== 'number')
    throw new Error(`graph input ${GRAPH_IO.history} has no fixed item dimension`);
  return items;
}
