import type { RecommendedItem } from '../../../contracts/api-types';
import type { Bucket } from '../shopper';

export const PLACEMENTS = ['home', 'product', 'cart', 'category'] as const;
export type Placement = (typeof PLACEMENTS)[number];

/** What to recommend for (already validated by the route). */
export interface RecommendationQuery {
  placement: Placement;
  /** The product page's product (placement `product`). */
  productId?: string;
  /** The cart's products (placement `cart`); the shopper's cart activity when absent. */
  productIds?: string[];
  /** Only items of this category. */
  category?: string;
  limit: number;
}

export type { RecommendedItem };

/** Which path produced a list: a model role, popularity, or nothing (no bundle loaded). */
export type RecommendationSource = 'personal' | 'similar' | 'complements' | 'popularity' | 'none';

export interface RecommendationResult {
  /** New for every response; events carry it back so clicks and orders are attributed to this list. */
  recommendation_id: string;
  model_version: string;
  placement: Placement;
  bucket: Bucket;
  source: RecommendationSource;
  /** Served from the per-user cache. */
  cached: boolean;
  items: RecommendedItem[];
  /**
   * Each item's product family (its catalogue `category`), in order; undefined when an item is not in
   * the catalogue. Not part of the API's JSON (the route leaves it out): proxy mode cuts a slot's
   * shorter row from the page's longer one with it (contracts/diversify.ts `diversifiedCut`).
   */
  families?: string[];
}
