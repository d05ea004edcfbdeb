import { Redis } from '@upstash/redis/cloudflare';
import type { StoredEvent } from '../../../contracts/events';
import {
  ACTIVITY_MAX,
  ACTIVITY_TTL_SECONDS,
  type ActivityEntry,
  activityKey,
  generationKey,
  purchasesKey,
} from '../cache/keys';
import type { Env } from '../env';
import { reportFailure, reportRecovery } from '../health';
import { log } from '../log';
import { userHash } from '../shopper';
import { activityOf } from './activity-of-event';

/** The consumer is off the request path: it can wait longer for Redis than a shopper's request. */
const ACTIVITY_TIMEOUT_MS = 3_000;

interface ShopperChanges {
  site: string;
  hash: string;
  entries: ActivityEntry[];
  purchased: Set<string>;
  stale: boolean;
}

/**
 * Updates each shopper's recent activity, purchases and cache generation in Upstash Redis
 * (keys from `cache/keys.ts`) in one pipeline per batch. Written under the hash of the
 * anonymous id and, when present, of the user id, because recommendations are asked for with
 * either. Never throws: Redis being down must not fail events already stored in MongoDB.
 */
export async function recordActivity(env: Env, events: readonly StoredEvent[]): Promise<void> {
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token || events.length === 0) return;
  try {
    const changes = await changesByShopper(events);
    if (changes.length === 0) return;
    const redis = new Redis({
      url,
      token,
      retry: { retries: 1, backoff: () => 200 },
      signal: () => AbortSignal.timeout(ACTIVITY_TIMEOUT_MS),
      enableTelemetry: false,
    });
    const pipeline = redis.pipeline();
    for (const change of changes) {
      if (change.entries.length > 0) {
        const key = activityKey(change.site, change.hash);
        // Oldest first, so LPUSH leaves the newest at the head.
        const ordered = change.entries.sort((a, b) => a.at - b.at).map((entry) => JSON.stringify(entry));
        pipeline.lpush(key, ...ordered);
        pipeline.ltrim(key, 0, ACTIVITY_MAX - 1);
        pipeline.expire(key, ACTIVITY_TTL_SECONDS);
      }
      if (change.purchased.size > 0) {
        const key = purchasesKey(change.site, change.hash);
        const [first, ...rest] = [...change.purchased];
        if (first !== undefined) pipeline.sadd(key, first, ...rest);
        pipeline.expire(key, ACTIVITY_TTL_SECONDS);
      }
      if (change.stale) {
        const key = generationKey(change.site, change.hash);
        pipeline.incr(key);
        pipeline.expire(key, ACTIVITY_TTL_SECONDS);
      }
    }
    await pipeline.exec();
    reportRecovery('activity');
  } catch (error) {
    reportFailure('activity', error);
    log('warn', 'activity_update_failed', { events: events.length, error });
  }
}

async function changesByShopper(events: readonly StoredEvent[]): Promise<ShopperChanges[]> {
  const byKey = new Map<string, ShopperChanges>();
  for (const event of events) {
    const activity = activityOf(event);
    if (activity.entries.length === 0 && !activity.stale) continue;
    const ids = new Set([event.anonymousId, event.userId].filter((id): id is string => id !== undefined));
    for (const id of ids) {
      const hash = await userHash(event.site, id);
      const mapKey = `${event.site}\n${hash}`;
      let change = byKey.get(mapKey);
      if (change === undefined) {
        change = { site: event.site, hash, entries: [], purchased: new Set(), stale: false };
        byKey.set(mapKey, change);
      }
      change.entries.push(...activity.entries);
      for (const id of activity.purchased) change.purchased.add(id);
      change.stale ||= activity.stale;
    }
  }
  return [...byKey.values()];
}
