/**
 * A cold isolate's stale hit: this file's first request finds no model sessions (each test file runs
 * in an isolate of its own). It serves the stale entry and must not take the entry's refresh lock: its
 * model cannot run yet, so the refresh would be popularity, never written, and the lock (up to 10 s)
 * would hold off the refresh of the next request, which can run the model.
 */
import { describe, expect, it } from 'vitest';
import { recommendationKey } from '../../worker/src/cache/keys';
import { defaultBundleSource } from '../../worker/src/models/default-bundle';
import { recommendationContext } from '../../worker/src/recommend/context';
import { directRedis, newShopper, plantStaleEntry, recommend, SITE } from './edge-api-support';

const QUERY = 'placement=home&limit=2';

/** The built-in bundle's version (nothing is published in this file's store), read without a request. */
async function builtInVersion(): Promise<string> {
  const manifest = await defaultBundleSource()?.read('manifest.json');
  if (!manifest) throw new Error('no built-in bundle in the test worker');
  return (JSON.parse(new TextDecoder().decode(manifest)) as { version: string }).version;
}

describe('a cold isolate with a stale cache entry', () => {
  it('serves it without taking the refresh lock; the first request that can run the model refreshes it', async () => {
    const shopper = await newShopper();
    const key = recommendationKey({
      site: SITE,
      userHash: shopper.hash,
      placement: 'home',
      context: recommendationContext({ placement: 'home', limit: 2 }),
      modelVersion: await builtInVersion(),
      bucket: 'treatment',
    });
    const planted = { product_id: 'PLANTED', title: 'planted', url: '/p', image: '/i', price: 1, score: 1 };
    const stale = await plantStaleEntry(key, [planted, planted]);

    // Cold: served from the stale entry, and nothing taken or written (`recommend` waits for its
    // background work).
    const cold = await recommend(QUERY, { cookie: shopper.cookie });
    expect(cold.body.cached).toBe(true);
    expect(cold.body.items[0]?.title).toBe('planted');
    expect(await directRedis().exists(`${key}:lock`)).toBe(0);
    expect(await directRedis().get(key)).toBe(stale);

    // The sessions exist now (created between requests): this request takes the lock and refreshes.
    const warm = await recommend(QUERY, { cookie: shopper.cookie });
    expect(warm.body.items[0]?.title).toBe('planted');
    expect(await directRedis().get(`${key}:lock`)).toBe('1');
    const refreshed = JSON.parse((await directRedis().get<string>(key)) ?? '{}') as {
      f: number;
      items: unknown[];
    };
    expect(refreshed.f).toBeGreaterThan(Date.now());
    expect(refreshed.items).not.toContainEqual(planted);
  });
});
