/**
 * Top-k ranking metrics as the Microsoft Recommenders project defines them
 * (recommenders/evaluation/python_evaluation.py), for one user at a time; averages are taken
 * over users with at least one relevant item.
 *  - precision@k = hits / k
 *  - recall@k = hits / |relevant|
 *  - nDCG@k = DCG / IDCG, binary gains, DCG = Σ 1/log2(rank+1), IDCG over min(|relevant|, k) items
 *  - MAP@k (their `map_at_k`) = Σ_{hits} (hits so far / rank) / |relevant|
 */

/** Metrics of one user's top-k list. */
export interface UserMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
}

/** Metrics of a ranked list against the relevant set. */
export function rankingMetrics(
  ranked: ArrayLike<number>,
  relevant: ReadonlySet<number>,
  k: number,
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
  for (let i = 0; i < Math.min(relevant.size, k); i++) idcg += 1 / Math.log2(i + 2);
  const size = relevant.size;
  return {
    precision: hits / k,
    recall: size > 0 ? hits / size : 0,
    ndcg: idcg > 0 ? dcg / idcg : 0,
    map: size > 0 ? ap / size : 0,
  };
}

/** Running mean of UserMetrics. */
export class MetricsAverage {
  private count = 0;
  private readonly sum: UserMetrics = { precision: 0, recall: 0, ndcg: 0, map: 0 };

  add(m: UserMetrics): void {
    this.count += 1;
    this.sum.precision += m.precision;
    this.sum.recall += m.recall;
    this.sum.ndcg += m.ndcg;
    this.sum.map += m.map;
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
    };
  }
}
