import type { Env } from '../env';
import { reportFailure } from '../health';
import { log } from '../log';
import { type BundleCatalogue, getBundle, getCatalogue, type LoadedBundle } from '../models';
import { computeRecommendations, NO_SIGNALS, type RankingBundle, type ShopperSignals } from './compute';
import type { RecommendationQuery, RecommendationSource, RecommendedItem } from './types';

/** The bundle to serve from, or undefined (reported) when none can be loaded: callers answer `none`. */
export async function servingBundle(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
): Promise<LoadedBundle | undefined> {
  try {
    return await getBundle(env, ctx);
  } catch (error) {
    reportFailure('models', error);
    return undefined;
  }
}

/**
 * The catalogue to serve from when no model needs to run (holdout, cache hits), or undefined (reported):
 * early in a cold isolate's first load, before its sessions exist (see BundleRegistry).
 */
export async function servingCatalogue(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
): Promise<BundleCatalogue | undefined> {
  try {
    return await getCatalogue(env, ctx);
  } catch (error) {
    reportFailure('models', error);
    return undefined;
  }
}

/** The bundle with sessions for a catalogue from servingCatalogue: itself once loaded, else the first load's end. */
export async function withModels(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  catalogue: BundleCatalogue,
): Promise<LoadedBundle | undefined> {
  return 'models' in catalogue ? (catalogue as LoadedBundle) : servingBundle(env, ctx);
}

export interface Computed {
  source: RecommendationSource;
  items: RecommendedItem[];
  /** A model failed and popularity stood in: served, but never cached or memoized. */
  fallback: boolean;
}

/** Computes with the model, falling back to popularity (reported and logged) if the model run fails. */
export async function computeWithFallback(
  bundle: RankingBundle,
  query: RecommendationQuery,
  signals: ShopperSignals,
  personalize: boolean,
): Promise<Computed> {
  try {
    return { ...(await computeRecommendations(bundle, query, signals, personalize)), fallback: false };
  } catch (error) {
    reportFailure('models', error);
    log('error', 'recommendation_model_failed', {
      version: bundle.version,
      placement: query.placement,
      error,
    });
    return { ...(await computeRecommendations(bundle, query, NO_SIGNALS, false)), fallback: true };
  }
}
