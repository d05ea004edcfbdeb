import { type Candidate, diversify } from '../../../contracts/diversify';
import { isModelEvidence, type ModelRole } from '../../../contracts/manifest';
import type { ActivityEntry } from '../cache/keys';
import type { BundleCatalogue, LoadedBundle, Recommender } from '../models';
import { cartOfActivity } from './cart';
import { catalogueCategories } from './category';
import { historyVector } from './history';
import { recommendationMask } from './mask';
import type { RecommendationQuery, RecommendationSource, RecommendedItem } from './types';

/** What is known about the shopper beyond the request (from the cache lookup; empty when Redis is away). */
export interface ShopperSignals {
  activity: readonly ActivityEntry[];
  purchases: readonly string[];
  /** Logged in (`user_id`): the learned `personal` model is preferred over item-to-item. */
  identified: boolean;
}

export const NO_SIGNALS: ShopperSignals = { activity: [], purchases: [], identified: false };

/**
 * What ranking runs on: a bundle's catalogue, with its models when their sessions exist. Without
 * models (holdout, or a cold isolate still creating its sessions) the ranking is popularity.
 */
export type RankingBundle = BundleCatalogue & Partial<Pick<LoadedBundle, 'models'>>;

interface Plan {
  roles: ModelRole[];
  context: string[];
  activity: readonly ActivityEntry[];
}

/**
 * Which model and which inputs, by placement:
 * - `product`: items like the one on the page (plus the session, lightly): `similar`;
 * - `cart`: complements of the cart (given ids, else cart events): `complements`;
 * - `home`/`category`: the learned `personal` model for identified shoppers, item-to-item from the
 *   session for anonymous ones; no history at all means popularity.
 */
function plan(query: RecommendationQuery, signals: ShopperSignals, bundle: RankingBundle): Plan | undefined {
  const personalRoles: ModelRole[] = signals.identified ? ['personal', 'similar'] : ['similar', 'personal'];
  if (query.placement === 'product' && query.productId && bundle.byId.has(query.productId)) {
    return { roles: ['similar', 'personal'], context: [query.productId], activity: signals.activity };
  }
  if (query.placement === 'cart') {
    const cart = query.productIds?.length ? query.productIds : cartOfActivity(signals.activity);
    if (cart.some((id) => bundle.byId.has(id))) {
      return { roles: ['complements', 'similar'], context: cart, activity: [] };
    }
  }
  const hasHistory = signals.activity.some((entry) => bundle.byId.has(entry.product_id));
  return hasHistory ? { roles: personalRoles, context: [], activity: signals.activity } : undefined;
}

function toItem(bundle: RankingBundle, candidate: Candidate): RecommendedItem | undefined {
  const item = bundle.items[candidate.index];
  if (!item) return undefined;
  return {
    product_id: item.product_id,
    title: item.title,
    url: item.url,
    image: item.image,
    // No price anywhere in the shop's data (`none`, stored as 0): none shown, rather than a price of 0.
    price: item.price_source === 'none' ? null : item.price,
    score: Math.round(candidate.score * 10_000) / 10_000,
  };
}

/**
 * Popularity candidates that the mask allows, scored relative to the most popular item. A generator:
 * `diversify` usually stops after a few, so a large catalogue is not walked on every request.
 */
function* popularityCandidates(
  bundle: RankingBundle,
  mask: Float32Array,
  skip: ReadonlySet<number>,
): Generator<Candidate> {
  const top = bundle.items[bundle.popularityOrder[0] ?? 0]?.popularity || 1;
  for (const index of bundle.popularityOrder) {
    if (mask[index] === 1 && !skip.has(index))
      yield { index, score: (bundle.items[index]?.popularity ?? 0) / top };
  }
}

/** The model's candidates, then popularity for whatever the model left short. */
function* modelThenPopularity(
  model: readonly Candidate[],
  bundle: RankingBundle,
  mask: Float32Array,
): Generator<Candidate> {
  yield* model;
  yield* popularityCandidates(bundle, mask, new Set(model.map((candidate) => candidate.index)));
}

function firstModel(bundle: RankingBundle, roles: readonly ModelRole[]): Recommender | undefined {
  for (const role of roles) {
    const model = bundle.models?.[role];
    if (model) return model;
  }
  return undefined;
}

/**
 * Ranks items for a query. `personalize: false` (holdout) ignores history and uses popularity with the
 * same page exclusions. Throws only if a model run fails; `getRecommendations` catches that.
 */
export async function computeRecommendations(
  bundle: RankingBundle,
  query: RecommendationQuery,
  signals: ShopperSignals,
  personalize: boolean,
): Promise<{ source: RecommendationSource; items: RecommendedItem[] }> {
  const chosen = personalize ? plan(query, signals, bundle) : undefined;
  const excluded = new Set<string>(personalize ? signals.purchases : []);
  if (query.productId) excluded.add(query.productId);
  for (const id of query.productIds ?? []) excluded.add(id);
  // No slot offers what is in the shopper's cart (docs/api.md "Excluded"), whether the page named it
  // (a cart slot's product_ids) or activity told it: a cart item weighs most in the history, so the
  // models would otherwise put it first on the home and product pages.
  if (personalize) for (const id of cartOfActivity(signals.activity)) excluded.add(id);
  // A category the catalogue does not have (neither by name nor by slug: a URL's `home-garden` is
  // "Home & Garden") filters nothing: an empty slot would help no one, as for an unknown product.
  const categories =
    query.category === undefined ? undefined : catalogueCategories(bundle.items, query.category);
  const mask = recommendationMask(bundle.items, bundle.byId, excluded, categories);

  let source: RecommendationSource = 'popularity';
  const candidates: Candidate[] = [];
  const model = chosen ? firstModel(bundle, chosen.roles) : undefined;
  if (chosen && model) {
    const { vector } = historyVector(bundle.byId, bundle.items.length, chosen.activity, chosen.context);
    const top = await model.run(vector, mask);
    const seen = new Set<number>();
    for (let i = 0; i < top.indices.length; i++) {
      const index = top.indices[i] ?? -1;
      const score = top.scores[i] ?? Number.NaN;
      // A NaN score is a broken model, not "no evidence": a failed run (computeWithFallback answers
      // with popularity, uncached, and /healthz shows it), instead of popularity under its name.
      if (Number.isNaN(score)) throw new Error(`model ${model.entry.name}: NaN scores`);
      // A graph's TopK never repeats an index; a broken or hand-made one could, and the item would
      // then be shown twice.
      if (seen.has(index)) continue;
      seen.add(index);
      // No evidence (a score of exactly 0, from EASE and item-to-item for items unrelated to the
      // history) would come out in catalogue order, so popularity fills those places instead. An
      // infinite score is none either: JSON would write it as null, and the cache would refuse the
      // entry on every read.
      if (isModelEvidence(score) && mask[index] === 1) candidates.push({ index, score });
    }
    source = model.entry.role;
  }
  // One diversified pass over model candidates followed by popularity: popularity fills a short list
  // (small k, heavy masking, no model, no evidence) before any family is allowed over its share. A
  // category's row is all one family, which the cap leaves in order (the skipped fill it again), unless
  // the name's slug matched several of the catalogue's categories: those share the row as families do.
  const picked = diversify(modelThenPopularity(candidates, bundle, mask), bundle.items, query.limit);
  const items: RecommendedItem[] = [];
  for (const candidate of picked) {
    const item = toItem(bundle, candidate);
    if (item) items.push(item);
  }
  return { source, items };
}
