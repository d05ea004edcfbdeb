import { PLACEMENT_HEADINGS, slotLimit, slotProductIds } from '../../../contracts/slot-defaults';
import { type Placement, PlacementSchema } from './config';
import type { PageContext } from './page-context';
import type { RecommendationQuery } from './source';

/** Reads just the attributes a slot needs (the HTMLRewriter `Element` and tests both satisfy it). */
export interface AttributeReader {
  getAttribute(name: string): string | null;
}

/**
 * An attribute's text without the spaces around it (`data-rx-product-id=" 85123A "` from a template),
 * as the API trims its parameters; undefined when absent or blank, so the page's URL fills it in.
 */
function trimmed(element: AttributeReader, name: string): string | undefined {
  return element.getAttribute(name)?.trim() || undefined;
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
  // Untrimmed, " P0 " missed the catalogue and the page's own product P0 was recommended back.
  const productId = trimmed(element, 'data-rx-product-id') ?? page.productId;
  if (productId) query.productId = productId;
  const productIds = slotProductIds(element.getAttribute('data-rx-product-ids'));
  if (productIds) query.productIds = productIds;
  const category = trimmed(element, 'data-rx-category') ?? page.category;
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
