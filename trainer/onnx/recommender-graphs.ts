/**
 * The recommender graphs the trainer exports. All share the bundle interface (contracts/manifest.ts,
 * GRAPH_IO): inputs `history` and `mask` float32 [batch, items], outputs `scores` float32 [batch, k]
 * and `indices` int64 [batch, k]. Scoring and top-k run inside the graph, so the worker does no
 * heavy math in JavaScript.
 */
import type { TensorSpec } from '../../contracts/manifest';
import { GRAPH_IO } from '../../contracts/manifest';
import { GraphBuilder } from './graph-builder';

/**
 * Excluded items get this much subtracted from their score (mask 0): they sort after every allowed
 * item. A caller that asks for more items than are allowed sees them with scores ≤ -1e8.
 */
export const MASK_PENALTY = 1e9;

/** What a scoring body computes from the history vector. */
export type ScoringBody =
  /** history · M, M dense [items, items] (small catalogues only). */
  | { kind: 'dense'; matrix: Float32Array }
  /**
   * history · (U · V with its diagonal zeroed), U [items, rank], V [rank, items]: a factorized
   * item-item matrix. The diagonal (an item's score against itself) goes, as in the dense forms
   * (EASE's B has a zero diagonal by construction; item-item zeroes it): otherwise every item in the
   * history would score high just for being there, and the worker masks only purchases, the page's
   * product and the cart, not what the shopper viewed.
   */
  | { kind: 'factorized'; rank: number; u: Float32Array; v: Float32Array }
  /** Mult-DAE: tanh(normalize(history) · W1 + b1) · W2 + b2. */
  | {
      kind: 'autoencoder';
      hidden: number;
      w1: Float32Array;
      b1: Float32Array;
      w2: Float32Array;
      b2: Float32Array;
    }
  /** Item popularity, independent of history (the baseline). */
  | { kind: 'popularity'; popularity: Float32Array };

/** Options of a recommender graph. */
export interface RecommenderGraphOptions {
  name: string;
  items: number;
  k: number;
  body: ScoringBody;
  producerVersion: string;
  metadata?: Record<string, string>;
}

/** The input and output specs every recommender graph declares (for the manifest). */
export function graphSpecs(items: number, k: number): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const topK = Math.min(k, items);
  return {
    inputs: [
      { name: GRAPH_IO.history, type: 'float32', shape: ['batch', items] },
      { name: GRAPH_IO.mask, type: 'float32', shape: ['batch', items] },
    ],
    outputs: [
      { name: GRAPH_IO.scores, type: 'float32', shape: ['batch', topK] },
      { name: GRAPH_IO.indices, type: 'int64', shape: ['batch', topK] },
    ],
  };
}

function scoringBody(g: GraphBuilder, history: string, items: number, body: ScoringBody): string {
  switch (body.kind) {
    case 'dense':
      return g.op('MatMul', [history, g.floatTensor('item_item', [items, items], body.matrix)]);
    case 'factorized': {
      const projected = g.op('MatMul', [history, g.floatTensor('item_factors', [items, body.rank], body.u)]);
      const full = g.op('MatMul', [projected, g.floatTensor('item_factors_out', [body.rank, items], body.v)]);
      // history_j · (U·V)_jj is each item's score against itself: taken out again (see ScoringBody).
      const selfScores = g.floatTensor('self_scores', [items], factorizedDiagonal(body));
      return g.op('Sub', [full, g.op('Mul', [history, selfScores])]);
    }
    case 'autoencoder': {
      // Mult-DAE feeds the L2-normalised history; an empty history stays zero (eps avoids 0/0),
      // so a cold-start shopper gets the decoder bias: a learned popularity.
      const norm = g.op('ReduceL2', [history], { axes: [1], keepdims: 1 });
      const safeNorm = g.op('Max', [norm, g.floatTensor('norm_eps', [], new Float32Array([1e-12]))]);
      const x = g.op('Div', [history, safeNorm]);
      const pre = g.op('Add', [
        g.op('MatMul', [x, g.floatTensor('encoder_w', [items, body.hidden], body.w1)]),
        g.floatTensor('encoder_b', [body.hidden], body.b1),
      ]);
      const h = g.op('Tanh', [pre]);
      return g.op('Add', [
        g.op('MatMul', [h, g.floatTensor('decoder_w', [body.hidden, items], body.w2)]),
        g.floatTensor('decoder_b', [items], body.b2),
      ]);
    }
    case 'popularity': {
      // history · 0 gives the [batch, items] shape; adding the popularity row broadcasts it.
      const zero = g.op('Mul', [history, g.floatTensor('zero', [], new Float32Array([0]))]);
      return g.op('Add', [zero, g.floatTensor('popularity', [1, items], body.popularity)]);
    }
  }
}

/** The diagonal of U · V: each item's score against itself in a factorized body. */
export function factorizedDiagonal(body: Extract<ScoringBody, { kind: 'factorized' }>): Float32Array {
  const items = body.u.length / body.rank;
  const diagonal = new Float32Array(items);
  for (let item = 0; item < items; item++) {
    let sum = 0;
    for (let k = 0; k < body.rank; k++)
      sum += (body.u[item * body.rank + k] ?? 0) * (body.v[k * items + item] ?? 0);
    diagonal[item] = sum;
  }
  return diagonal;
}

/** Builds a recommender graph and returns its serialised ONNX bytes. */
export function buildRecommenderGraph(options: RecommenderGraphOptions): Uint8Array {
  const { items, k, body } = options;
  if (!Number.isInteger(items) || items < 1)
    throw new Error(`items must be a positive integer, got ${items}`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const specs = graphSpecs(items, k);
  const g = new GraphBuilder(options.name);
  for (const input of specs.inputs) g.input({ name: input.name, type: 'float32', shape: input.shape });
  const raw = scoringBody(g, GRAPH_IO.history, items, body);
  // scores + (mask - 1) · 1e9: exact for allowed items (mask 1 adds 0), sinks excluded ones.
  const penalty = g.op('Mul', [
    g.op('Sub', [GRAPH_IO.mask, g.floatTensor('one', [], new Float32Array([1]))]),
    g.floatTensor('mask_penalty', [], new Float32Array([MASK_PENALTY])),
  ]);
  const masked = g.op('Add', [raw, penalty]);
  const kTensor = g.int64Tensor('k', [1], [Math.min(k, items)]);
  g.node('TopK', [masked, kTensor], { axis: -1, largest: 1, sorted: 1 }, [GRAPH_IO.scores, GRAPH_IO.indices]);
  for (const output of specs.outputs) {
    g.output({ name: output.name, type: output.type === 'int64' ? 'int64' : 'float32', shape: output.shape });
  }
  return g.toBytes({
    producer: 'rx-trainer',
    producerVersion: options.producerVersion,
    doc: `${options.name}: ${body.kind} recommender, top-${Math.min(k, items)} of ${items} items`,
    ...(options.metadata ? { metadata: options.metadata } : {}),
  });
}
