import { PLACEMENT_HEADINGS, slotLimit, slotProductIds } from '../../../contracts/slot-defaults';
import { type Placement, PlacementSchema } from './config';
import type { PageContext } from './page-context';
import type { RecommendationQuery } from './source';

/** Reads just the attributes a slot needs (the HTMLRewriter `Element` and tests both satisfy it). */
export interface AttributeReader {
  getAttribute(name: string): string | null;
}

function placementOf(raw: string | null, fallback: Placement): Placement {
  const parsed = PlacementSchema.safeParse(raw);
  return parsed.success ? parsed.data : fallback;
}

/**
 * The query of a `data-rx-slot` element (DESIGN.md "Markup"): `data-rx-placement`,
 * `data-rx-product-id`, `data-rx-product-ids` (comma-separated), `data-rx-category`, `data-rx-limit`
 * (read as the plugin reads them: contracts/slot-defaults.ts); what the element leaves out comes from
 * the page's URL.
 */
export function slotQuery(element: AttributeReader, page: PageContext): RecommendationQuery {
  const placement = placementOf(element.getAttribute('data-rx-placement'), page.placement);
  const query: RecommendationQuery = {
    placement,
    limit: slotLimit(element.getAttribute('data-rx-limit')),
  };
  const productId = element.getAttribute('data-rx-product-id') ?? page.productId;
  if (productId) query.productId = productId;
  const productIds = slotProductIds(element.getAttribute('data-rx-product-ids'));
  if (productIds) query.productIds = productIds;
  const category = element.getAttribute('data-rx-category') ?? page.category;
  if (category) query.category = category;
  return query;
}

/**
 * The block heading: the slot's own `data-rx-heading`, else the placement's (PLACEMENT_HEADINGS, also
 * what `GET /v1/recommendations` answers as `heading`, so a slot the plugin fills reads the same).
 */
export function slotHeading(element: AttributeReader, placement: Placement): string {
  return element.getAttribute('data-rx-heading') ?? PLACEMENT_HEADINGS[placement];
}
