import { z } from 'zod';
import { USER_ID_PATTERN } from '../shopper';

/** Product ids the API accepts: letters, digits, `_ . : -`, 1–64 characters (e.g. `85123A`). */
export const PRODUCT_ID_PATTERN = /^[A-Za-z0-9][\w.:-]{0,63}$/;
export const MAX_PRODUCT_IDS = 50;

export const productIdSchema = z
  .string()
  .regex(PRODUCT_ID_PATTERN, 'must be 1-64 letters, digits or _ . : - (starting with a letter or digit)');

/** `a,b,c` → ['a','b','c'], each a valid product id, at most MAX_PRODUCT_IDS. */
export const productIdListSchema = z
  .string()
  .transform((value) => value.split(',').map((id) => id.trim()))
  .pipe(
    z
      .array(productIdSchema)
      .min(1, 'must list at least one product id')
      .max(MAX_PRODUCT_IDS, `must list at most ${MAX_PRODUCT_IDS} product ids`),
  );

export const userIdSchema = z
  .string()
  .regex(USER_ID_PATTERN, 'must be 1-128 printable characters without spaces');

/** `tracking=off`: a shopper who may not be tracked (the plugin before consent, or under GPC). */
export const trackingSchema = z.enum(['off'], { error: 'must be off (or absent)' }).optional();

/** An untracked request cannot name a logged-in shopper: `user_id` with `tracking=off` is refused. */
export function refuseUserIdWhenUntracked(
  query: { tracking?: 'off'; user_id?: string },
  ctx: z.RefinementCtx,
): void {
  if (query.tracking === 'off' && query.user_id) {
    ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'must not be given with tracking=off' });
  }
}
