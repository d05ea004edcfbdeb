/**
 * A proxy slot of fewer items than the page's prefetch takes its own row, diversified for its own
 * limit (contracts/diversify.ts `diversifiedCut`), not the prefetch's first items: the family cap of
 * the 12-item prefetch (5 of a family) would let a 4-item slot be all one family where the API, asked
 * for 4, allows 2. Proxy slots show what `GET /v1/recommendations` answers for the same limit.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { diversifiedCut, diversify, familyCap } from '../../contracts/diversify';
import type { CatalogueItem } from '../../contracts/manifest';
import { Deadline } from '../../worker/src/proxy/deadline';
import { nonPersonalSource } from '../../worker/src/proxy/non-personal-source';
import { PageSession, PREFETCH_LIMIT } from '../../worker/src/proxy/page-session';
import type { PersonalizationSource, RecommendationQuery } from '../../worker/src/proxy/source';
import { computeRecommendations, NO_SIGNALS, type RankingBundle } from '../../worker/src/recommend/compute';
import { itemFamilies } from '../../worker/src/recommend/families';
import { categoryOfProduct, edgeEnv, productId, publish, recommend } from './edge-api-support';

/** A catalogue ranked by popularity (no models): item i's family is `familyOf(i)`. */
function popularityBundle(count: number, familyOf: (index: number) => string): RankingBundle {
  const items: CatalogueItem[] = Array.from({ length: count }, (_, i) => ({
    product_id: `P${i}`,
    title: `Item ${i}`,
    url: `/products/P${i}`,
    image: `/images/P${i}.svg`,
    price: 1,
    currency: 'GBP',
    category: familyOf(i),
    available: true,
    popularity: 1_000 - i,
  }));
  return {
    version: 'families-test',
    items,
    byId: new Map(items.map((item, index) => [item.product_id, index])),
    popularityOrder: Int32Array.from(items.keys()),
  } as unknown as RankingBundle;
}

/** A source that answers as getRecommendations does (ranking, then each item's family), counting calls. */
function rankingSource(bundle: RankingBundle) {
  const asked: number[] = [];
  const source: PersonalizationSource = {
    async recommend(query) {
      asked.push(query.limit);
      const { source: ranking, items } = await computeRecommendations(bundle, query, NO_SIGNALS, true);
      const families = itemFamilies(bundle, items);
      return { recommendation_id: 'r', model_version: bundle.version, source: ranking, items, families };
    },
    async prices() {
      return [];
    },
  };
  return { source, asked };
}

/** What the API answers for this query: the same ranking, for the query's own limit. */
async function apiIds(bundle: RankingBundle, query: RecommendationQuery): Promise<string[]> {
  const { items } = await computeRecommendations(bundle, query, NO_SIGNALS, true);
  return items.map((item) => item.product_id);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('a proxy slot cut from the page prefetch', () => {
  // The six best sellers are one family, the rest one family each: what a shop's top sellers often are.
  const bundle = popularityBundle(20, (i) => (i < 6 ? 'A' : `F${i}`));
  const context = { placement: 'home' as const };

  it('keeps the family cap of its own limit and equals the API answer for that limit', async () => {
    const { source, asked } = rankingSource(bundle);
    const session = new PageSession(source, new Deadline(), context);
    session.prefetch();
    const query = { ...context, limit: 4 };
    const slot = await session.recommendations(query);
    const ids = (slot?.items ?? []).map((item) => item.product_id);
    const families = ids.map((id) => bundle.items[bundle.byId.get(id) ?? -1]?.category);
    // At most 40% of the row from one family: 2 of 4 (the prefetch's first four were all family A).
    expect(families.filter((family) => family === 'A')).toHaveLength(familyCap(4));
    expect(ids).toEqual(await apiIds(bundle, query));
    expect(ids).toEqual(['P0', 'P1', 'P6', 'P7']);
    // Served from the prefetch: no fetch of its own.
    expect(asked).toEqual([PREFETCH_LIMIT]);
    // The synchronous path gives the same row.
    await settle();
    const settled = session.settledRecommendations(query)?.value?.items.map((item) => item.product_id);
    expect(settled).toEqual(ids);
  });

  it('equals the API answer for every limit up to the prefetch', async () => {
    for (let limit = 1; limit <= PREFETCH_LIMIT; limit++) {
      const session = new PageSession(rankingSource(bundle).source, new Deadline(), context);
      session.prefetch();
      const slot = await session.recommendations({ ...context, limit });
      expect(
        (slot?.items ?? []).map((item) => item.product_id),
        `limit ${limit}`,
      ).toEqual(await apiIds(bundle, { ...context, limit }));
    }
  });

  it('is fetched for its own limit when the prefetch cannot tell its row (a catalogue of few families)', async () => {
    // Ten of family A, then one B: the prefetch's row is padded with A beyond its cap, and which A
    // pads a 4-item row the prefetch cannot tell in general; the slot asks the source itself.
    const few = popularityBundle(11, (i) => (i < 10 ? 'A' : 'B'));
    const { source, asked } = rankingSource(few);
    const session = new PageSession(source, new Deadline(), context);
    session.prefetch();
    const query = { ...context, limit: 4 };
    const slot = await session.recommendations(query);
    expect((slot?.items ?? []).map((item) => item.product_id)).toEqual(await apiIds(few, query));
    expect(asked).toEqual([PREFETCH_LIMIT, 4]);
    // A second slot of that limit shares the slot's fetch.
    await session.recommendations(query);
    expect(asked).toEqual([PREFETCH_LIMIT, 4]);
  });

  it('is fetched for its own limit from a source that does not tell families', async () => {
    const { source: ranked, asked } = rankingSource(bundle);
    const source: PersonalizationSource = {
      ...ranked,
      recommend: async (query) => {
        const { families: _families, ...answer } = (await ranked.recommend(query)) as { families?: unknown };
        return answer as Awaited<ReturnType<PersonalizationSource['recommend']>>;
      },
    };
    const session = new PageSession(source, new Deadline(), context);
    session.prefetch();
    const slot = await session.recommendations({ ...context, limit: 4 });
    expect((slot?.items ?? []).map((item) => item.product_id)).toEqual(['P0', 'P1', 'P6', 'P7']);
    expect(asked).toEqual([PREFETCH_LIMIT, 4]);
  });
});

describe('diversifiedCut', () => {
  it('gives what diversify gives for the shorter limit, or nothing (random candidate lists)', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    let cut = 0;
    for (let round = 0; round < 1_000; round++) {
      const families = 1 + random(7);
      const items = Array.from({ length: 1 + random(40) }, () => ({ category: `F${random(families)}` }));
      const candidates = items.map((_, index) => ({ index, score: 1 }));
      const longerLimit = 1 + random(24);
      const longer = diversify(candidates, items, longerLimit);
      const longerFamilies = longer.map((candidate) => items[candidate.index]?.category ?? '');
      for (let limit = 1; limit <= longerLimit; limit++) {
        const positions = diversifiedCut(longerFamilies, longerLimit, limit);
        if (!positions) continue;
        cut++;
        expect(positions.map((position) => longer[position]?.index)).toEqual(
          diversify(candidates, items, limit).map((candidate) => candidate.index),
        );
      }
    }
    expect(cut).toBeGreaterThan(3_000);
  });
});

describe('with the worker source and the fixture bundle', () => {
  beforeAll(async () => {
    expect((await publish('v1', 'fixture-v1')).status).toBe(200);
  }, 120_000);

  it("a product page's 4-item slot shows the API's 4 items, at most 2 of the product's family", async () => {
    // The `similar` graph ranks the product's own family first: the prefetch's first four are all of it.
    const product = productId(5);
    const ctx = createExecutionContext();
    const page = { placement: 'product' as const, productId: product };
    const session = new PageSession(nonPersonalSource(edgeEnv(), ctx), new Deadline(), page);
    session.prefetch();
    const slot = await session.recommendations({ ...page, limit: 4 });
    await waitOnExecutionContext(ctx);
    const ids = (slot?.items ?? []).map((item) => item.product_id);
    const { body } = await recommend(`placement=product&product_id=${product}&limit=4&tracking=off`);
    expect(body.model_version).toBe('fixture-v1');
    expect(ids).toEqual(body.items.map((item) => item.product_id));
    const own = ids.filter((id) => categoryOfProduct(id) === categoryOfProduct(product));
    expect(own).toHaveLength(familyCap(4));
    // Families are proxy mode's: the API's JSON does not carry them.
    expect(body).not.toHaveProperty('families');
    const tracked = await recommend(`placement=product&product_id=${product}&limit=4`);
    expect(tracked.body.items).toHaveLength(4);
    expect(tracked.body).not.toHaveProperty('families');
  });
});
