/**
 * Scores exported ONNX graphs (in onnxruntime-web) against a test set: for each user with test
 * items, the history is their training row, the mask excludes their training items, and the top-10
 * is compared with their test items (Microsoft Recommenders metric definitions, see metrics.ts).
 */
import { denseRow, forEachInRow, type InteractionMatrix } from '../data/matrix';
import type { Interaction } from '../data/types';
import { MetricsAverage, rankingMetrics } from '../models/metrics';
import { loadRecommender } from '../onnx/run';

/** Metrics of one model. */
export interface ModelScore {
  model: string;
  users: number;
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  /** Share of the catalogue that appears in at least one user's top-k. */
  coverage: number;
}

/** Relevant item indices per training row, from test interactions of known users and items. */
export function relevantSets(train: InteractionMatrix, test: Interaction[]): Map<number, Set<number>> {
  const userRow = new Map(train.users.map((u, i) => [u, i]));
  const out = new Map<number, Set<number>>();
  for (const it of test) {
    const r = userRow.get(it.user);
    const c = train.itemIndex.get(it.item);
    if (r === undefined || c === undefined) continue;
    const set = out.get(r) ?? new Set<number>();
    set.add(c);
    out.set(r, set);
  }
  // Items the user already had in training are excluded from the ranking, so they cannot count.
  for (const [r, set] of out) {
    forEachInRow(train.matrix, r, (c) => {
      set.delete(c);
    });
    if (set.size === 0) out.delete(r);
  }
  return out;
}

/** Evaluates one exported graph on the test users. */
export async function evaluateOnnx(
  name: string,
  onnx: Uint8Array,
  train: InteractionMatrix,
  relevant: Map<number, Set<number>>,
  k = 10,
): Promise<ModelScore> {
  const runner = await loadRecommender(onnx);
  const n = train.items.length;
  const rows = [...relevant.keys()];
  const avg = new MetricsAverage();
  const recommended = new Set<number>();
  const chunk = 256;
  const history = new Float32Array(chunk * n);
  const mask = new Float32Array(chunk * n);
  try {
    for (let start = 0; start < rows.length; start += chunk) {
      const batch = rows.slice(start, start + chunk);
      mask.fill(1);
      batch.forEach((r, i) => {
        const row = history.subarray(i * n, (i + 1) * n);
        denseRow(train.matrix, r, row);
        forEachInRow(train.matrix, r, (c) => {
          mask[i * n + c] = 0;
        });
      });
      const out = await runner.run(
        history.subarray(0, batch.length * n),
        mask.subarray(0, batch.length * n),
        batch.length,
      );
      batch.forEach((r, i) => {
        const top = out.indices.subarray(i * out.k, i * out.k + Math.min(k, out.k));
        for (const c of top) recommended.add(c);
        avg.add(rankingMetrics(top, relevant.get(r) ?? new Set(), k));
      });
    }
  } finally {
    await runner.close();
  }
  return { model: name, users: avg.users, ...avg.mean(), coverage: recommended.size / n };
}
