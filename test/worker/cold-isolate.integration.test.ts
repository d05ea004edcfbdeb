/**
 * A cold isolate: this file's first requests find no model sessions (each test file runs in an isolate
 * of its own), so they show what the first shoppers of a freshly started isolate get.
 */
import { describe, expect, it } from 'vitest';
import { recommendationKey } from '../../worker/src/cache/keys';
import { recommendationContext } from '../../worker/src/recommend/context';
import { directRedis, newShopper, recommend, SITE } from './edge-api-support';

const QUERY = 'placement=product&product_id=85123A&limit=4';

describe('a cold isolate', () => {
  it('answers its first shoppers from the catalogue, creates the model sessions between requests, then serves the model', async () => {
    // The built-in bundle (nothing published in this file's store). While this request is in progress
    // the sessions may not be created, so the miss is answered from popularity and nothing is cached.
    const first = await newShopper();
    const cold = await recommend(QUERY, { cookie: first.cookie });
    expect(cold.response.status).toBe(200);
    expect(cold.body.source).toBe('popularity');
    expect(cold.body.cached).toBe(false);
    expect(cold.body.items).toHaveLength(4);
    expect(cold.body.items.map((item) => item.product_id)).not.toContain('85123A');
    const key = recommendationKey({
      site: SITE,
      userHash: first.hash,
      placement: 'product',
      context: recommendationContext({ placement: 'product', productId: '85123A', limit: 4 }),
      modelVersion: cold.body.model_version,
      bucket: 'treatment',
    });
    expect(await directRedis().exists(key)).toBe(0);

    // That request is answered and its background work done (`call` waits for it): the sessions exist.
    const warm = await recommend(QUERY, { cookie: first.cookie });
    expect(warm.body.source).toBe('similar');
    expect(warm.body.model_version).toBe(cold.body.model_version);
    expect(warm.body.cached).toBe(false);
    expect(await directRedis().exists(key)).toBe(1);
  });
});
