import { describe, expect, it } from 'vitest';
import { rankingMetrics } from './metrics';

describe('ranking metrics (Microsoft Recommenders definitions)', () => {
  it('computes precision, recall, nDCG and MAP of a list by hand', () => {
    // hits at ranks 1 and 3 of 10; 4 relevant items
    const m = rankingMetrics([5, 9, 7, 1, 2, 3, 4, 6, 8, 0], new Set([5, 7, 11, 12]), 10);
    expect(m.precision).toBeCloseTo(2 / 10, 12);
    expect(m.recall).toBeCloseTo(2 / 4, 12);
    const dcg = 1 + 1 / Math.log2(4);
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4) + 1 / Math.log2(5);
    expect(m.ndcg).toBeCloseTo(dcg / idcg, 12);
    expect(m.map).toBeCloseTo((1 / 1 + 2 / 3) / 4, 12);
    expect(m.mapAtK).toBeCloseTo((1 / 1 + 2 / 3) / 4, 12);
  });

  it('MAP divides by |relevant| (the published MAP), MAP@k by min(|relevant|, k)', () => {
    // 12 relevant items, hits at ranks 2 and 5 of 10
    const relevant = new Set(Array.from({ length: 12 }, (_, i) => 100 + i));
    const m = rankingMetrics([0, 100, 1, 2, 101, 3, 4, 5, 6, 7], relevant, 10);
    expect(m.map).toBeCloseTo((1 / 2 + 2 / 5) / 12, 12);
    expect(m.mapAtK).toBeCloseTo((1 / 2 + 2 / 5) / 10, 12);
  });

  it('counts relevant items the model cannot rank in recall, IDCG and MAP', () => {
    // one rankable relevant item hit at rank 1, three more relevant but unknown to the model
    const m = rankingMetrics([7, 1, 2], new Set([7]), 3, 4);
    expect(m.precision).toBeCloseTo(1 / 3, 12);
    expect(m.recall).toBeCloseTo(1 / 4, 12);
    expect(m.ndcg).toBeCloseTo(1 / (1 + 1 / Math.log2(3) + 1 / Math.log2(4)), 12);
    expect(m.map).toBeCloseTo(1 / 4, 12);
    expect(m.mapAtK).toBeCloseTo(1 / 3, 12);
  });

  it('caps the ideal DCG at k and scores a miss as zero', () => {
    expect(rankingMetrics([0, 1], new Set([0, 1, 2]), 2).ndcg).toBeCloseTo(1, 12);
    expect(rankingMetrics([3, 4], new Set([0]), 2)).toEqual({
      precision: 0,
      recall: 0,
      ndcg: 0,
      map: 0,
      mapAtK: 0,
    });
  });

  it('reads only the first k of a longer list, and divides precision by k when the list is shorter', () => {
    // The relevant item sits at rank 3 of a list cut at k = 2: nothing was recommended that counts.
    expect(rankingMetrics([1, 2, 3], new Set([3]), 2)).toEqual({
      precision: 0,
      recall: 0,
      ndcg: 0,
      map: 0,
      mapAtK: 0,
    });
    // One item served where k = 4 were asked for (a catalogue nearly all masked): 1 hit of k = 4 slots.
    const short = rankingMetrics([3], new Set([3]), 4);
    expect(short.precision).toBeCloseTo(1 / 4, 12);
    expect(short.recall).toBeCloseTo(1, 12);
    expect(short.ndcg).toBeCloseTo(1, 12);
  });
});
