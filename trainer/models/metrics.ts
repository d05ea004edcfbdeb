/**
 * Top-k ranking metrics exactly as Microsoft Recommenders defines them in
 * recommenders/evaluation/python_evaluation.py, for one user at a time. Their functions average
 * over `n_users = len(common_users)`, the users present in both the test set and the predictions
 * (`merge_ranking_true_pred`); a user without hits counts as 0. `|relevant|` is their `actual`: the
 * user's test rows, including items the model cannot know (never trained on).
 *  - precision@k = hits / k                       (`precision_at_k`: df_hit_count["hit"] / k)
 *  - recall@k = hits / |relevant|                 (`recall_at_k`: hit / actual)
 *  - nDCG@k = DCG / IDCG with binary gains, DCG = Σ_hits 1/log(1 + rank), IDCG over
 *    min(|relevant|, k) ranks (`ndcg_at_k`; the log base cancels in the ratio)
 *  - MAP = Σ_hits (hits so far / rank) / |relevant|   (`map_at_k` up to commit 20b0b53f:
 *    `(df_merge["rr"] / df_merge["actual"]).sum() / n_users`; renamed `map` later). This is the
 *    "MAP" of their published MovieLens-100K table (BPR 0.132478 beside P@10 0.388229).
 *  - MAP@k = Σ_hits (hits so far / rank) / min(|relevant|, k)   (`map_at_k` on current main:
 *    `df_merge["rr"] / df_merge["actual"].apply(lambda x: min(x, k))`), reported beside it.
 */

/** Metrics of one user's top-k list. */
export interface UserMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  /** Normalised by |relevant|: the published "MAP" (their `map`, formerly `map_at_k`). */
  map: number;
  /** Normalised by min(|relevant|, k): their current `map_at_k`. */
  mapAtK: number;
}

/**
 * Metrics of a ranked list against the relevant set. `relevantCount` (default |relevant|) may be
 * larger than the set when some relevant items cannot be ranked at all (unknown to the model):
 * they still count in recall, IDCG and MAP, as in the reference.
 */
export function rankingMetrics(
  ranked: ArrayLike<number>,
  relevant: ReadonlySet<number>,
  k: number,
  relevantCount = relevant.size,
): UserMetrics {
  let hits = 0;
  let dcg = 0;
  let ap = 0;
  const n = Math.min(k, ranked.length);
  for (let i = 0; i < n; i++) {
    if (!relevant.has(ranked[i] ?? -1)) continue;
    hits += 1;
    dcg += 1 / Math.log2(i + 2);
    ap += hits / (i + 1);
  }
  let idcg = 0;
  const size = Math.max(relevantCount, relevant.size);
  for (let i = 0; i < Math.min(size, k); i++) idcg += 1 / Math.log2(i + 2);
  return {
    precision: hits / k,
    recall: size > 0 ? hits / size : 0,
    ndcg: idcg > 0 ? dcg / idcg : 0,
    map: size > 0 ? ap / size : 0,
    mapAtK: size > 0 ? ap / Math.min(size, k) : 0,
  };
}

/** Running mean of UserMetrics. */
export class MetricsAverage {
  private count = 0;
  private readonly sum: UserMetrics = { precision: 0, recall: 0, ndcg: 0, map: 0, mapAtK: 0 };

  add(m: UserMetrics): void {
    this.count += 1;
    this.sum.precision += m.precision;
    this.sum.recall += m.recall;
    this.sum.ndcg += m.ndcg;
    this.sum.map += m.map;
    this.sum.mapAtK += m.mapAtK;
  }

  get users(): number {
    return this.count;
  }

  mean(): UserMetrics {
    const c = Math.max(this.count, 1);
    return {
      precision: this.sum.precision / c,
      recall: this.sum.recall / c,
      ndcg: this.sum.ndcg / c,
      map: this.sum.map / c,
      mapAtK: this.sum.mapAtK / c,
    };
  }
}
