/**
 * Scores exported ONNX graphs (in onnxruntime-web) against a test set: for each user with test
 * items, the history is their training row, the mask excludes their training items, and the top-10
 * is compared with their test items (Microsoft Recommenders metric definitions, see metrics.ts).
 */
import { type CatalogueItem, popularityOrder } from '../../contracts/manifest';
import {
  denseRow,
  forEachInRow,
  type InteractionMatrix,
  rowHasValues,
  type SparseMatrix,
} from '../data/matrix';
import type { Interaction } from '../data/types';
import { MetricsAverage, rankingMetrics } from '../models/metrics';
import { loadRecommender } from '../onnx/run';
import { servedTopK } from '../onnx/served-top-k';

/** Metrics of one model. */
export interface ModelScore {
  model: string;
  users: number;
  precision: number;
  recall: number;
  ndcg: number;
  /** Published-style MAP: ÷ |relevant| (see metrics.ts). */
  map: number;
  /** Current `map_at_k`: ÷ min(|relevant|, k). */
  mapAtK: number;
  /** Share of the catalogue that appears in at least one user's top-k. */
  coverage: number;
}

/** A test user's relevant items: those the model can rank, and how many there are in all. */
export interface RelevantItems {
  /** Column indices of relevant items known in training and not in the user's training row. */
  items: Set<number>;
  /**
   * All relevant items, including test items never seen in training (the model cannot rank
   * them, but Microsoft Recommenders counts them in `actual`: recall, IDCG and MAP denominators).
   */
  count: number;
}

/**
 * Relevant items per training row from the test interactions. Users without a training row are
 * left out: they get no predictions (the reference's `common_users`). The row's training items are
 * not to be predicted (`remove_seen=True`), with `--history served` too, so that eval's rows compare:
 * relevant is what is new to the customer, whatever the worker would still hold (docs/trainer.md).
 */
export function relevantSets(train: InteractionMatrix, test: Interaction[]): Map<number, RelevantItems> {
  const userRow = new Map(train.users.map((u, i) => [u, i]));
  const known = new Map<number, Set<number>>();
  const unknown = new Map<number, Set<string>>();
  for (const it of test) {
    const r = userRow.get(it.user);
    if (r === undefined) continue;
    const c = train.itemIndex.get(it.item);
    if (c !== undefined) known.set(r, (known.get(r) ?? new Set<number>()).add(c));
    else unknown.set(r, (unknown.get(r) ?? new Set<string>()).add(it.item));
  }
  const out = new Map<number, RelevantItems>();
  for (const r of new Set([...known.keys(), ...unknown.keys()])) {
    const items = known.get(r) ?? new Set<number>();
    // Items the user already had in training are not to be predicted (`remove_seen=True`): only new
    // items are relevant.
    forEachInRow(train.matrix, r, (c) => {
      items.delete(c);
    });
    const count = items.size + (unknown.get(r)?.size ?? 0);
    if (count > 0) out.set(r, { items, count });
  }
  return out;
}

/** Whether row `r` holds any activity (a stored entry that is not 0). */
/**
 * Evaluates one exported graph: for each row of `histories` with relevant items, that row is the
 * history, its items are masked, and the graph's top-k, as the worker serves it (`servedTopK`:
 * popularity, by `popularity`, where the model has no evidence; with `families`, the items' product
 * families by index, at most 40 % of a row from one), is scored against the relevant items.
 */
export async function evaluateOnnx(
  name: string,
  onnx: Uint8Array,
  histories: SparseMatrix,
  relevant: Map<number, RelevantItems>,
  popularity: ArrayLike<number>,
  k = 10,
  /** What each row must not be recommended; default: its history's items. */
  masks: SparseMatrix = histories,
  families?: ReadonlyArray<Pick<CatalogueItem, 'category'>>,
): Promise<ModelScore> {
  const byPopularity = popularityOrder(popularity);
  const runner = await loadRecommender(onnx);
  const n = histories.cols;
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
        denseRow(histories, r, row);
        forEachInRow(masks, r, (c) => {
          mask[i * n + c] = 0;
        });
      });
      const out = await runner.run(
        history.subarray(0, batch.length * n),
        mask.subarray(0, batch.length * n),
        batch.length,
      );
      batch.forEach((r, i) => {
        // No history (with --history served, a shopper whose activity expired): the worker runs no
        // model then (compute.ts `plan`) and serves popularity; a model with a bias (the Mult-DAE's
        // decoder) would otherwise score a list the worker never shows.
        const withoutHistory = !rowHasValues(histories, r);
        const top = servedTopK(
          withoutHistory ? [] : out.indices.subarray(i * out.k, (i + 1) * out.k),
          withoutHistory ? [] : out.scores.subarray(i * out.k, (i + 1) * out.k),
          k,
          mask.subarray(i * n, (i + 1) * n),
          byPopularity,
          families,
        ).map((item) => item.index);
        for (const c of top) recommended.add(c);
        const rel = relevant.get(r);
        if (rel) avg.add(rankingMetrics(top, rel.items, k, rel.count));
      });
    }
  } finally {
    await runner.close();
  }
  return { model: name, users: avg.users, ...avg.mean(), coverage: recommended.size / n };
}
