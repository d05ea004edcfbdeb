import type { Env } from '../env';
import { reportFailure } from '../health';
import { logRepeating } from '../log-repeating';
import { type BundleCatalogue, getCatalogue, type LoadedBundle } from '../models';
import { computeRecommendations, type RankingBundle, type ShopperSignals } from './compute';
import type { RecommendationQuery, RecommendationSource, RecommendedItem } from './types';

/**
 * The catalogue to serve from, or undefined (reported) when no bundle can be loaded (callers answer
 * `none`). Early in a cold isolate's first load it has no models yet (`hasModels`).
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

/**
 * Whether a catalogue from servingCatalogue comes with its model sessions. It does not while a cold
 * isolate's first load waits to create them (BundleRegistry); the model then cannot run yet.
 */
export function hasModels(catalogue: BundleCatalogue): catalogue is LoadedBundle {
  return 'models' in catalogue;
}

export interface Computed {
  source: RecommendationSource;
  items: RecommendedItem[];
  /**
   * Popularity stood in for the model, because a model run failed or because the sessions do not exist
   * yet (a cold isolate): served, but never cached or memoized, since the model's answer is to come.
   */
  fallback: boolean;
}

/**
 * Computes with the model, falling back to popularity (reported and logged) if the model run fails:
 * the same exclusions, no model.
 * Without sessions yet, the answer is popularity marked as a fallback.
 */
export async function computeWithFallback(
  bundle: RankingBundle,
  query: RecommendationQuery,
  signals: ShopperSignals,
  personalize: boolean,
): Promise<Computed> {
  try {
    const computed = await computeRecommendations(bundle, query, signals, personalize);
    return { ...computed, fallback: !hasModels(bundle) };
  } catch (error) {
    reportFailure('models', error);
    logRepeating('error', 'recommendation_model_failed', {
      version: bundle.version,
      placement: query.placement,
      error,
    });
    // Popularity in the model's place, with the exclusions the model's answer would have had (the
    // shopper's purchases, the cart a cart slot derives from activity), as a cold isolate's answer has.
    const { models: _failing, ...withoutModels } = bundle;
    return { ...(await computeRecommendations(withoutModels, query, signals, personalize)), fallback: true };
  }
}
