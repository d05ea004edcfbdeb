import { zValidator } from '@hono/zod-validator';
import { Hono } from 'hono';
import { z } from 'zod';
import { PLACEMENT_HEADINGS } from '../../../contracts/slot-defaults';
import type { AppEnv } from '../app-env';
import { getRecommendations, PLACEMENTS } from '../recommend';
import { getContextRecommendations } from '../recommend/context-only';
import { identifyShopper, setShopperCookie } from '../shopper';
import {
  optionalParam,
  productIdListSchema,
  productIdSchema,
  refuseUserIdWhenUntracked,
  requestUserId,
  shopperQueryShape,
  singleValuedQuery,
  wholeNumberParam,
} from './params';
import { assertQueryLength, rejectInvalid } from './query-errors';

export const MAX_LIMIT = 50;

const RecommendationsQuerySchema = z
  .object({
    placement: z.enum(PLACEMENTS, { error: `must be one of ${PLACEMENTS.join(', ')}` }),
    // Every optional parameter empty or blank is absent (`product_id=&category=&limit=`, as DESIGN.md's
    // URL template has them): optionalParam, wholeNumberParam.
    product_id: optionalParam(productIdSchema),
    // A page's `data-rx-product-ids` as the plugin sends it: an empty entry (`a,b,` from a template's
    // loop, `a,,b`) is skipped, as proxy mode skips it (worker/src/proxy/slot-query.ts), not a 400.
    product_ids: optionalParam(
      z
        .string()
        .transform((value) =>
          value
            .split(',')
            .filter((id) => id.trim() !== '')
            .join(','),
        )
        .pipe(productIdListSchema),
    ),
    // The shop's own category names (`Home/Garden`, `Décor`, `Kids (3+)`), as the catalogue and proxy
    // mode's `data-rx-category` carry them, or their URL slugs (`home-garden`), once the spaces around
    // are trimmed; one the catalogue does not have filters nothing (worker/src/recommend/category.ts).
    category: optionalParam(
      z
        .string()
        .trim()
        .regex(/^[^\p{Cc}\p{Cs}]{1,256}$/u, 'must be 1-256 characters without control characters'),
    ),
    limit: wholeNumberParam(1, MAX_LIMIT, 8),
    ...shopperQueryShape,
  })
  .superRefine((query, ctx) => {
    if (query.placement === 'product' && !query.product_id) {
      ctx.addIssue({ code: 'custom', path: ['product_id'], message: 'is required for placement product' });
    }
    refuseUserIdWhenUntracked(query, ctx);
  });

/**
 * `GET /v1/recommendations?placement=home|product|cart|category&product_id=&product_ids=&category=&limit=&user_id=&tracking=off`
 * → `{ recommendation_id, model_version, placement, bucket, source, cached, heading, items: [...] }`.
 * `heading` is the placement's default block heading (contracts/slot-defaults.ts), the one proxy mode
 * writes, so a plugin-filled slot without `data-rx-heading` reads the same.
 * Per-shopper, so never stored by shared caches; sets `rx_uid` for a new shopper. `tracking=off`
 * answers from the query alone (getContextRecommendations), without `bucket`, id or cookie.
 */
export const recommendations = new Hono<AppEnv>().get(
  '/',
  async (c, next) => {
    assertQueryLength(c.req.url);
    await next();
  },
  zValidator('query', singleValuedQuery(RecommendationsQuerySchema), rejectInvalid('query')),
  async (c) => {
    const query = c.req.valid('query');
    const recommendationQuery = {
      placement: query.placement,
      limit: query.limit,
      ...(query.product_id ? { productId: query.product_id } : {}),
      ...(query.product_ids ? { productIds: query.product_ids } : {}),
      ...(query.category ? { category: query.category } : {}),
    };
    const heading = PLACEMENT_HEADINGS[query.placement];
    const userId = await requestUserId(c, c.env, query);
    c.header('cache-control', 'private, no-store');
    if (query.tracking === 'off') {
      // A shopper who may not be tracked (the plugin before consent, or under GPC): results from the
      // query alone. No id is made or read, no cookie set, no cache touched, and no experiment bucket.
      // `families` is for proxy mode (RecommendationResult), not part of the API's answer.
      const { families: _families, ...result } = await getContextRecommendations(
        c.env,
        c.executionCtx,
        recommendationQuery,
      );
      return c.json({ ...result, heading });
    }
    const shopper = await identifyShopper(c, c.env, userId ? { userId } : {});
    const { families: _families, ...result } = await getRecommendations(
      c.env,
      c.executionCtx,
      shopper,
      recommendationQuery,
    );
    setShopperCookie(c, shopper);
    c.header('vary', 'Cookie');
    return c.json({ ...result, heading });
  },
);
