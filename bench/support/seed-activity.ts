/**
 * Seeds shoppers with a full activity list in the cache, as the event consumer would leave them after a
 * large order (ACTIVITY_MAX entries each), for the api benchmark's full-history miss row. Written through
 * the real `@upstash/redis` client to the local Upstash-compatible server, under the keys and pseudonyms
 * the worker reads (worker/src/cache/keys.ts; the pseudonyms: seed-pseudonym.ts).
 */
import { Redis } from '@upstash/redis';
import { ACTIVITY_MAX } from '../../contracts/activity';
import { fixtureProductId } from '../../test/support/fixture-bundle';
import { type ActivityEntry, activityKey } from '../../worker/src/cache/keys';
import { anonymousPseudonyms } from './seed-pseudonym';

/** LPUSHes per pipeline: each carries ACTIVITY_MAX entries of about 60 bytes. */
const PER_PIPELINE = 200;

export interface SeededShoppers {
  /** The anonymous ids (`rx_uid`), each with a full list. */
  ids: string[];
  seconds: number;
}

/** `count` shoppers on `site`, each with ACTIVITY_MAX views, cart adds and purchases of `items` products. */
export async function seedFullHistories(
  upstash: { url: string; token: string },
  options: { site: string; userHashKey: string; count: number; items: number },
): Promise<SeededShoppers> {
  const started = performance.now();
  const redis = new Redis({ url: upstash.url, token: upstash.token, enableAutoPipelining: false });
  const ids = Array.from({ length: options.count }, () => crypto.randomUUID());
  const pseudonym = await anonymousPseudonyms(options.userHashKey, options.site);
  const now = Date.now();
  const kinds = ['view', 'view', 'cart', 'purchase'] as const;
  for (let start = 0; start < ids.length; start += PER_PIPELINE) {
    const pipeline = redis.pipeline();
    for (const [offset, id] of ids.slice(start, start + PER_PIPELINE).entries()) {
      const hash = await pseudonym(id);
      // Oldest first, so that LPUSH leaves the newest at the head, as the consumer does.
      const entries: ActivityEntry[] = Array.from({ length: ACTIVITY_MAX }, (_, j) => ({
        product_id: fixtureProductId((start + offset + j * 7) % options.items),
        kind: kinds[j % kinds.length] ?? 'view',
        at: now - (ACTIVITY_MAX - j) * 60_000,
      }));
      pipeline.lpush(activityKey(options.site, hash), ...entries.map((entry) => JSON.stringify(entry)));
    }
    await pipeline.exec();
  }
  return {
    ids,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
}
