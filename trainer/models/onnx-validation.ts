/**
 * Scores a trained body on the validation users as its exported ONNX graph in onnxruntime-web —
 * what the worker would serve — so that candidates of different kinds (EASE λ values, EASE against
 * the TF.js Mult-DAE) are compared by one yardstick on the same users.
 */
import { evaluateOnnx, type RelevantItems } from '../eval/evaluate';
import { buildRecommenderGraph, type ScoringBody } from '../onnx/recommender-graphs';
import { itemPopularity } from './popularity';
import type { Validation } from './validation';

/** Validation nDCG@10 of `body`: its ONNX graph ranks each fold-in history, held-out items are relevant. */
export async function onnxValidationNdcg(name: string, body: ScoringBody, v: Validation): Promise<number> {
  const relevant = new Map<number, RelevantItems>();
  v.heldOut.forEach((items, r) => {
    if (items.size > 0) relevant.set(r, { items, count: items.size });
  });
  const onnx = buildRecommenderGraph({
    name: `${name}-validation`,
    items: v.foldIn.cols,
    k: 10,
    body,
    producerVersion: 'validation',
  });
  // Lists are filled by popularity where a model has no evidence, as served; the fold-in histories'
  // own popularity, so no held-out item leaks into it.
  return (await evaluateOnnx(name, onnx, v.foldIn, relevant, itemPopularity(v.foldIn), 10)).ndcg;
}
