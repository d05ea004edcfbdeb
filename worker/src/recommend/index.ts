import {
  acquireRefreshLock,
  type CacheLookup,
  lookupRecommendations,
  storeRecommendations,
} from '../cache/recommendation-cache';
import { cacheBudgetMs, redisFromEnv } from '../cache/redis-client';
import type { Env } from '../env';
import { reportFailure, reportRecovery } from '../health';
import { log } from '../log';
import { getBundle, type LoadedBundle } from '../models';
import type { Shopper } from '../shopper';
import { computeRecommendations, NO_SIGNALS, type ShopperSignals } from './compute';
import { recommendationContext } from './context';
import type {
  RecommendationQuery,
  RecommendationResult,
  RecommendationSource,
  RecommendedItem,
} from './types';

export {
  PLACEMENTS,
  type Placement,
  type RecommendationQuery,
  type RecommendationResult,
  type RecommendedItem,
} from './types';

const DEFAULT_TTL_SECONDS = 300;

function ttlSeconds(env: Pick<Env, 'CACHE_TTL_SECONDS'>): number {
  const value = Number(env.CACHE_TTL_SECONDS);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_TTL_SECONDS;
}

type Background = Pick<ExecutionContext, 'waitUntil'>;

/** Computes with the model, falling back to popularity if the model run fails. */
async function compute(
  bundle: LoadedBundle,
  query: RecommendationQuery,
  signals: ShopperSignals,
  personalize: boolean,
): Promise<{ source: RecommendationSource; items: RecommendedItem[] }> {
  try {
    const result = await computeRecommendations(bundle, query, signals, personalize);
    return result;
  } catch (error) {
    reportFailure('models', error);
    log('error', 'recommendation_model_failed', {
      version: bundle.version,
      placement: query.placement,
      error,
    });
    return computeRecommendations(bundle, query, NO_SIGNALS, false);
  }
}

/** Reads the cache within its budget; a slow or failing cache is reported and treated as absent. */
async function lookup(env: Env, shopper: Shopper, bundle: LoadedBundle, query: RecommendationQuery) {
  const redis = redisFromEnv(env);
  if (!redis) return undefined;
  const parts = {
    site: env.SITE_ID,
    userHash: shopper.userHash,
    placement: query.placement,
    context: recommendationContext(query),
    modelVersion: bundle.version,
    bucket: shopper.bucket,
  };
  try {
    const found = await lookupRecommendations(redis, parts, shopper.anonymousHash, cacheBudgetMs(env));
    reportRecovery('cache');
    return { redis, found };
  } catch (error) {
    reportFailure('cache', error);
    log('warn', 'cache_unavailable', { user: shopper.userHash, error });
    return undefined;
  }
}

function store(
  env: Env,
  ctx: Background,
  redis: NonNullable<ReturnType<typeof redisFromEnv>>,
  found: CacheLookup,
  value: { source: RecommendationSource; items: RecommendedItem[] },
  refresh: boolean,
): void {
  const budget = cacheBudgetMs(env);
  const write = async () => {
    if (refresh && !(await acquireRefreshLock(redis, found.key, budget))) return;
    await storeRecommendations(redis, found.key, { g: found.generation, ...value }, ttlSeconds(env), budget);
  };
  ctx.waitUntil(
    write().catch((error: unknown) => {
      reportFailure('cache', error);
      log('warn', 'cache_write_failed', { error });
    }),
  );
}

/**
 * Recommendations for a shopper and a placement. Never throws: without a cache it answers from the
 * model, without a working model from popularity, without any bundle with an empty list (`source: none`).
 * Holdout shoppers get popularity (same page exclusions, no history) and touch no cache.
 */
export async function getRecommendations(
  env: Env,
  ctx: Background,
  shopper: Shopper,
  query: RecommendationQuery,
): Promise<RecommendationResult> {
  const base = { recommendation_id: crypto.randomUUID(), placement: query.placement, bucket: shopper.bucket };
  let bundle: LoadedBundle | undefined;
  try {
    bundle = await getBundle(env, ctx);
  } catch (error) {
    reportFailure('models', error);
  }
  if (!bundle) return { ...base, model_version: 'none', source: 'none', cached: false, items: [] };
  const model_version = bundle.version;

  if (shopper.bucket === 'holdout') {
    const result = await compute(bundle, query, NO_SIGNALS, false);
    return { ...base, model_version, cached: false, ...result };
  }

  const cache = await lookup(env, shopper, bundle, query);
  const entry = cache?.found.entry;
  if (cache && entry) {
    if (!cache.found.fresh) {
      // Serve stale now; one request (the lock holder) recomputes in the background.
      const signals = {
        activity: cache.found.activity,
        purchases: cache.found.purchases,
        identified: shopper.userId !== undefined,
      };
      ctx.waitUntil(
        compute(bundle, query, signals, true).then((fresh) =>
          store(env, ctx, cache.redis, cache.found, fresh, true),
        ),
      );
    }
    return {
      ...base,
      model_version,
      source: entry.source as RecommendationSource,
      cached: true,
      items: entry.items,
    };
  }

  const signals: ShopperSignals = cache
    ? {
        activity: cache.found.activity,
        purchases: cache.found.purchases,
        identified: shopper.userId !== undefined,
      }
    : { ...NO_SIGNALS, identified: shopper.userId !== undefined };
  const result = await compute(bundle, query, signals, true);
  if (cache) store(env, ctx, cache.redis, cache.found, result, false);
  return { ...base, model_version, cached: false, ...result };
}
