import type { PriceQuote } from '../../../contracts/api-types';
import { isSignablePrice } from '../../../contracts/manifest';
import type { Env } from '../env';
import { log } from '../log';
import { getCatalogue } from '../models';
import type { Shopper } from '../shopper';
import { newQuoteId, signingKey, signPriceToken, usableSigningSecret } from './price-token';

export {
  keyId,
  MAX_TOKEN_CHARS,
  newQuoteId,
  type PriceClaims,
  type PriceKeyring,
  priceKeyring,
  signingKey,
  signPriceToken,
  type TokenCheck,
  type TokenRejection,
  verifyPriceToken,
} from './price-token';

/** How long a quoted price holds: long enough for a checkout, short enough that prices can move. */
export const PRICE_TOKEN_TTL_SECONDS = 30 * 60;

export type { PriceQuote };

let warnedMissingKey = false;

export interface PriceOptions {
  /**
   * Sign each quote (default). The proxy only writes the price into the page and never shows a token,
   * so it asks for none: an HMAC per price was the largest CPU cost of a personalized page.
   */
  sign?: boolean;
  now?: number;
}

/**
 * Prices for a shopper: today the catalogue's base price (`personalized: false`) for everyone, holdout
 * or not, each with a signed token (`token: null` when unsigned). Unknown product ids are left out
 * (a fallback, not an error), and so are items the catalogue has no price for. A token names
 * `shopper.userHash`, so none is signed for a shopper who is not `hashed` (no USER_HASH_KEY: their
 * "hash" is a random value that names no one, and a token naming it would verify for nobody, or, were
 * that value ever to be a real hash, for someone else): this function refuses that itself, whatever its
 * caller checked.
 *
 * Only a price from the shop's own data is signed (`isSignablePrice`: its catalogue file or order
 * export). One the trainer took from events (`price_source: "events"`) is the median of what anyone
 * posted to /v1/events, so 250 forged views at 0.01 made it 0.01: it is quoted as it is shown, with
 * `token: null` and never personalized, as without a signing key, and checkout charges its own price.
 * An item of no price (`none`, stored as 0) is left out, as an unknown id: no quote, no token (its
 * recommendations carry `price: null`). Verify does not read the catalogue: no token for such a price
 * is signed from a bundle that marks it (docs/api.md "POST /v1/prices/verify").
 */
export async function getPrices(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  shopper: Pick<Shopper, 'userHash' | 'hashed'>,
  productIds: readonly string[],
  { sign = true, now = Date.now() }: PriceOptions = {},
): Promise<PriceQuote[]> {
  // Prices need the catalogue only: a cold isolate answers them before its model sessions exist.
  const bundle = await getCatalogue(env, ctx);
  if (!bundle) return [];
  const expires = Math.floor(now / 1000) + PRICE_TOKEN_TTL_SECONDS;
  const signs = sign && shopper.hashed;
  // A blank secret is none (usableSigningSecret): tokens signed with it could be forged by anyone.
  const secret = usableSigningSecret(env.PRICE_SIGNING_KEY);
  const key = signs && secret ? await signingKey(secret) : undefined;
  if (signs && !key && !warnedMissingKey) {
    warnedMissingKey = true;
    log('warn', 'price_signing_key_missing', {
      hint: 'wrangler secret put PRICE_SIGNING_KEY; prices carry no token',
    });
  }
  const quotes: PriceQuote[] = [];
  for (const id of new Set(productIds)) {
    const index = bundle.byId.get(id);
    const item = index === undefined ? undefined : bundle.items[index];
    // An item priced nowhere (`none`, stored as 0) has no price to quote: left out, as an unknown id.
    if (!item || item.price_source === 'none') continue;
    const price = item.price;
    const token =
      key && isSignablePrice(item)
        ? await signPriceToken(key, {
            p: item.product_id,
            a: price,
            c: item.currency,
            u: shopper.userHash,
            e: expires,
            q: newQuoteId(),
          })
        : null;
    quotes.push({
      product_id: item.product_id,
      base_price: item.price,
      price,
      currency: item.currency,
      discount: Math.round((item.price - price) * 100) / 100,
      // Never true for a price that is not signable, when personalized prices come: see above.
      personalized: false,
      token,
      expires_at: new Date(expires * 1000).toISOString(),
    });
  }
  return quotes;
}

/**
 * Prices for a shopper who may not be tracked (consent pending, GPC): base prices without tokens, since
 * a token must name a shopper (checkout charges the base price without one). Nothing about anybody is
 * read or made.
 */
export function basePrices(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  productIds: readonly string[],
): Promise<PriceQuote[]> {
  return getPrices(env, ctx, { userHash: '', hashed: false }, productIds, { sign: false });
}
