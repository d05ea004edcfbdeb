import { LRUCache } from 'lru-cache';
import type { Env } from '../env';
import type { BundleCatalogue } from '../models';
import { NO_SIGNALS } from './compute';
import { recommendationContext } from './context';
import { itemFamilies } from './families';
import { computeWithFallback, servingCatalogue } from './model-run';
import type { RecommendationQuery, RecommendationSource, RecommendedItem } from './types';

/** Recommendations from the page alone: the same for everybody who asks the same query. */
export interface ContextRecommendations {
  recommendation_id: string;
  model_version: string;
  placement: RecommendationQuery['placement'];
  source: RecommendationSource;
  /** Served from this isolate's memo of earlier identical queries. */
  cached: boolean;
  items: readonly RecommendedItem[];
  /** Each item's product family, as RecommendationResult's (not part of the API's JSON). */
  families?: string[];
}

type Ranked = { source: RecommendationSource; items: readonly RecommendedItem[] };

/**
 * Answers per (bundle version, placement, context). They are a pure function of those, so an entry can
 * never be stale: a new bundle has a new version, hence new keys, and old ones age out. Bounded, so it
 * never grows with traffic; 2,000 lists of up to 50 items stay within a few MB.
 */
const memo = new LRUCache<string, Ranked>({ max: 2_000 });

function memoKey(bundle: BundleCatalogue, query: RecommendationQuery): string {
  return `${bundle.version}\n${query.placement}\n${recommendationContext(query)}`;
}

/**
 * Recommendations for a shopper who may not be tracked (consent pending, Global Privacy Control): what
 * the page itself says, and nothing about the shopper. A product page gets items like its product
 * (`similar`), a cart with given ids their complements; home and category pages get popularity. No id
 * is made, no cache is read or written and no history is used, so there is nothing to consent to; the
 * results equal what a first-time shopper without history gets, so a page looks the same before and
 * after consent. The model runs once per distinct query and isolate, not once per page. Never throws:
 * a failing model falls back to popularity (not memoized), no bundle gives an empty list.
 */
export async function getContextRecommendations(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  query: RecommendationQuery,
): Promise<ContextRecommendations> {
  const base = { recommendation_id: crypto.randomUUID(), placement: query.placement };
  const bundle = await servingCatalogue(env, ctx);
  if (!bundle)
    return { ...base, model_version: 'none', source: 'none', cached: false, items: [], families: [] };

  const ranked = await contextRanking(bundle, query);
  const families = itemFamilies(bundle, ranked.items);
  return { ...base, model_version: bundle.version, ...ranked, ...(families ? { families } : {}) };
}

/**
 * The page-only ranking of a query (no history, nothing about the shopper), from this isolate's memo,
 * computed and memoized on a miss. `cached`: it came from the memo. Items are frozen: they are shared
 * by every later request of the isolate, so no caller can change another's list.
 */
export async function contextRanking(
  bundle: BundleCatalogue,
  query: RecommendationQuery,
): Promise<Ranked & { cached: boolean }> {
  const key = memoKey(bundle, query);
  const known = memo.get(key);
  if (known) return { ...known, cached: true };

  const { source, items, fallback } = await computeWithFallback(bundle, query, NO_SIGNALS, true);
  const frozen = Object.freeze(items.map((item) => Object.freeze(item)));
  if (!fallback) memo.set(key, { source, items: frozen });
  return { source, items: frozen, cached: false };
}
