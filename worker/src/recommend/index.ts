import {
  acquireRefreshLock,
  entryGenerations,
  lookupRecommendations,
  storeRecommendations,
} from '../cache/recommendation-cache';
import { CacheTimeoutError, cacheBudgetMs, redisFromEnv } from '../cache/redis-client';
import { setting } from '../config';
import type { Env } from '../env';
import { reportOutcome } from '../health';
import { logRepeating } from '../log-repeating';
import type { BundleCatalogue } from '../models';
import type { Shopper } from '../shopper';
import { NO_SIGNALS, type ShopperSignals } from './compute';
import { recommendationContext } from './context';
import { contextRanking } from './context-only';
import { itemFamilies } from './families';
import { type Computed, computeWithFallback, hasModels, servingCatalogue } from './model-run';
import type { RecommendationQuery, RecommendationResult } from './types';

export {
  PLACEMENTS,
  type Placement,
  type RecommendationQuery,
  type RecommendationResult,
  type RecommendedItem,
} from './types';

/** `CACHE_TTL_SECONDS`: a whole number of seconds from 1 to 100 years, else 300 (settings.ts). */
function ttlSeconds(env: Pick<Env, 'CACHE_TTL_SECONDS'>): number {
  return setting(env, 'CACHE_TTL_SECONDS');
}

type Background = Pick<ExecutionContext, 'waitUntil'>;

/** Reads the cache within its budget; a slow or failing cache is reported and treated as absent. */
async function lookup(env: Env, shopper: Shopper, bundle: BundleCatalogue, query: RecommendationQuery) {
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
  // A logged-in shopper's anonymous id that is new (firstVisit: made for this request, or by the plugin
  // on this page) names no session: nothing is stored under it, and the next request may bring another
  // one. So no session is read and the entry is the user's alone, which that next request finds.
  const session = shopper.firstVisit ? shopper.userHash : shopper.anonymousHash;
  try {
    const found = await lookupRecommendations(redis, parts, session, cacheBudgetMs(env));
    reportOutcome('cache', 'ok');
    return { redis, found };
  } catch (error) {
    // A late answer (the budget ran out) and a failure are told apart: see OUTCOME_WINDOW_MS (health.ts).
    reportOutcome('cache', isBudgetTimeout(error) ? 'late' : 'failed', error);
    logRepeating('warn', 'cache_unavailable', { user: shopper.userHash, error });
    return undefined;
  }
}

/** The cache budget ran out: our own timer, or the client's `AbortSignal.timeout` on its fetch. */
function isBudgetTimeout(error: unknown): boolean {
  if (error instanceof CacheTimeoutError) return true;
  // The fetch's rejection is a DOMException; read its name without relying on its prototype chain.
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return name === 'TimeoutError' || name === 'AbortError';
}

type CacheHandle = NonNullable<Awaited<ReturnType<typeof lookup>>>;

/**
 * Background cache work: a miss's write, a stale entry's refresh. `/healthz` shows it as `cache_writes`,
 * apart from the lookups' `cache`: lookups that succeed must not hide writes that fail (a database that
 * serves reads but refuses writes would look healthy while every request misses), and a write past its
 * budget on a busy isolate is a late answer, as a lookup's is, not a failure (health.ts OUTCOME_WINDOW_MS).
 */
function inBackground(ctx: Background, work: () => Promise<boolean>): void {
  ctx.waitUntil(
    work().then(
      // Only a write that reached Redis says the writes work (not a fallback answer that is never stored).
      (wrote) => {
        if (wrote) reportOutcome('cache_writes', 'ok');
      },
      (error: unknown) => {
        reportOutcome('cache_writes', isBudgetTimeout(error) ? 'late' : 'failed', error);
        logRepeating('warn', 'cache_write_failed', { error });
      },
    ),
  );
}

/**
 * Stores what a miss or a refresh computed, stamped with the generations its lookup read. Conditional
 * (storeRecommendations): when another request meanwhile stored a list of a later generation (an event
 * arrived while this one's model ran), that newer list is kept, not replaced by this older one.
 */
async function write(env: Env, cache: CacheHandle, computed: Computed): Promise<boolean> {
  if (computed.fallback) return false;
  const { redis, found } = cache;
  const value = { ...entryGenerations(found), source: computed.source, items: computed.items };
  await storeRecommendations(redis, found, value, ttlSeconds(env), cacheBudgetMs(env));
  return true;
}

/** Refreshes a stale entry: only the request that wins the lock recomputes, the others serve stale. */
function refreshInBackground(
  env: Env,
  ctx: Background,
  cache: CacheHandle,
  work: () => Promise<Computed>,
): void {
  inBackground(ctx, async () => {
    const locked = await acquireRefreshLock(
      cache.redis,
      cache.found.key,
      ttlSeconds(env),
      cacheBudgetMs(env),
    );
    if (!locked) return false;
    return write(env, cache, await work());
  });
}

/**
 * Recommendations for a shopper and a placement. Never throws: without a cache it answers from the
 * model, without a working model from popularity, without any bundle with an empty list (`source: none`).
 * Holdout shoppers get popularity (same page exclusions, no history) and touch no cache; first-time
 * shoppers (an id made for this request, no login) get the page-only answer and touch no cache either.
 *
 * Only a miss runs a model. Holdout answers and cache hits need the catalogue alone (the cache key
 * holds the bundle version). In a cold isolate whose model sessions do not exist yet, a miss is
 * answered from popularity at once (not cached) rather than waiting for them: see BundleRegistry.
 */
export async function getRecommendations(
  env: Env,
  ctx: Background,
  shopper: Shopper,
  query: RecommendationQuery,
): Promise<RecommendationResult> {
  const base = { recommendation_id: crypto.randomUUID(), placement: query.placement, bucket: shopper.bucket };
  const catalogue = await servingCatalogue(env, ctx);
  if (!catalogue) return none(base);
  const result = await answer(env, ctx, shopper, query, catalogue, base);
  const families = itemFamilies(catalogue, result.items);
  return families ? { ...result, families } : result;
}

/** getRecommendations' answer from a catalogue, without its items' families. */
async function answer(
  env: Env,
  ctx: Background,
  shopper: Shopper,
  query: RecommendationQuery,
  catalogue: BundleCatalogue,
  base: Pick<RecommendationResult, 'recommendation_id' | 'placement' | 'bucket'>,
): Promise<RecommendationResult> {
  const model_version = catalogue.version;

  if (shopper.bucket === 'holdout') {
    const { source, items } = await computeWithFallback(catalogue, query, NO_SIGNALS, false);
    return { ...base, model_version, source, cached: false, items };
  }

  if (shopper.firstVisit && shopper.userId === undefined) {
    // An id minted for this very request (no cookie, no header), or by the plugin on this page with no
    // event sent yet (`x-rx-uid-new`), and no login: nothing is stored under it yet, so a lookup could
    // only miss, the model would run on no history, and the entry written would wait for an id that
    // may never come back (a cookie-less client, a first page whose cookie the browser drops). That answer is the page-only one every such shopper gets, so it comes from
    // the isolate's memo: no Upstash round trip, no write, no model run for a query seen before.
    // `cached` says which (docs/api.md): true when the memo served it, as for `tracking=off`.
    const { source, items, cached } = await contextRanking(catalogue, query);
    return { ...base, model_version, source, cached, items: [...items] };
  }

  const cache = await lookup(env, shopper, catalogue, query);
  const found = cache?.found;
  if (cache && found?.fresh) {
    // The common case: nothing but the entry was read, and nothing more is needed.
    return { ...base, model_version, source: found.entry.source, cached: true, items: found.entry.items };
  }
  // Read only when the model runs: a stale hit is served before its activity list is parsed.
  const miss = found?.fresh === false ? found : undefined;
  const signals = (): ShopperSignals => ({
    activity: miss?.activity() ?? [],
    purchases: miss?.purchases ?? [],
    identified: shopper.userId !== undefined,
  });
  const entry = miss?.entry;
  if (cache && entry) {
    // Refreshed by a later request once the model can run: taking the refresh lock now for a
    // popularity answer that is never written would hold off that request's refresh.
    if (hasModels(catalogue)) {
      refreshInBackground(env, ctx, cache, () => computeWithFallback(catalogue, query, signals(), true));
    }
    return { ...base, model_version, source: entry.source, cached: true, items: entry.items };
  }

  const computed = await computeWithFallback(catalogue, query, signals(), true);
  if (cache && !computed.fallback) inBackground(ctx, () => write(env, cache, computed));
  return { ...base, model_version, source: computed.source, cached: false, items: computed.items };
}

/** The answer when no bundle could be loaded at all. */
function none(
  base: Pick<RecommendationResult, 'recommendation_id' | 'placement' | 'bucket'>,
): RecommendationResult {
  return { ...base, model_version: 'none', source: 'none', cached: false, items: [], families: [] };
}
