import { zValidator } from '@hono/zod-validator';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { AppEnv } from '../app-env';
import { sharedSigningSecret } from '../config';
import { ApiError, errorBody } from '../errors';
import { isJsonMediaType, mediaTypeOf } from '../events/json-body';
import { countFailedGuess, guessingClient, refuseBlockedGuesser } from '../middleware/verify-guesses';
import { basePrices, getPrices, priceKeyring, type TokenCheck, verifyPriceToken } from '../prices';
import {
  identifyShopper,
  isAnonymousId,
  type ShopperId,
  setShopperCookie,
  userHash,
  userHashKey,
} from '../shopper';
import {
  productIdListSchema,
  refuseUserIdWhenUntracked,
  requestUserId,
  shopperQueryShape,
  singleValuedQuery,
  userIdSchema,
  userSignatureSchema,
} from './params';
import { assertQueryLength, rejectInvalid } from './query-errors';

const PricesQuerySchema = z
  .object({
    product_ids: productIdListSchema,
    ...shopperQueryShape,
  })
  .superRefine(refuseUserIdWhenUntracked);

export const MAX_TOKENS = 100;

/**
 * Largest verify body: MAX_TOKENS of the longest tokens the worker signs (MAX_TOKEN_CHARS, ~1,600
 * characters: a product id of 256 characters of any script is carried whole) take ~160 KB, and the ids
 * and the JSON's own spacing fit in the rest (test/worker/prices-verify-body.integration.test.ts).
 */
export const MAX_VERIFY_BODY_BYTES = 256 * 1024;

/**
 * `null` and `""` read as absent in the body's shopper fields: a checkout server sends
 * `"user_id": null` (or `""`) for a guest, as Segment's and RudderStack's libraries do for events
 * (the rule of contracts/events.ts isMissingId, which the event schema applies to its ids).
 */
function absentWhenEmpty(value: unknown): unknown {
  return value === null || value === '' ? undefined : value;
}

/**
 * The body's user id: a string, as in the query, or a number (shop backends keep customer ids as
 * numbers), taken as its decimal string when a whole number of at most 2^53 - 1, as events take
 * `userId` (contracts/events.ts IdSchema): `"user_id": 4711` is the shopper a page named
 * `user_id=4711`, and with USER_ID_SECRET its signature is that of "4711". Larger numbers arrive
 * already rounded, and a fraction names no customer: both are refused, naming the field.
 */
const bodyUserIdSchema = z.preprocess(
  (value) =>
    absentWhenEmpty(typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value),
  z
    .string({
      error: (issue) =>
        typeof issue.input === 'number'
          ? 'a number user id must be a whole number of at most 2^53 - 1; send others as strings'
          : 'must be a string or a whole number',
    })
    .pipe(userIdSchema)
    .optional(),
);

/**
 * Each token is answered on its own: one that is not a string, or longer than any the worker signs
 * (MAX_TOKEN_CHARS), is `malformed` at its index, as any other unreadable token, and the rest of the
 * cart is still checked (a cart line whose price came with `token: null` sent as `null`, say).
 */
const VerifyBodySchema = z.object({
  tokens: z
    .array(z.unknown(), { error: 'must be an array of price tokens' })
    .min(1, 'must hold at least one token')
    .max(MAX_TOKENS, `must hold at most ${MAX_TOKENS} tokens`),
  /** The shopper checking out, when the shop's server calls (no cookie): their user id... */
  user_id: bodyUserIdSchema,
  /** ...signed, where USER_ID_SECRET is set (as `user_sig` on every route; `x-rx-user-sig` works too)... */
  user_sig: z.preprocess(absentWhenEmpty, userSignatureSchema.optional()),
  /** ...and/or their `rx_uid` (both: a token quoted before login verifies too). */
  anonymous_id: z.preprocess(
    absentWhenEmpty,
    z
      .string()
      .refine((value) => isAnonymousId(value), 'must be an rx_uid value (a lowercase UUID)')
      .optional(),
  ),
});

/** Who a verify request speaks for when its body names nobody: the usual `user_id` / `x-rx-user-id`. */
const VerifyQuerySchema = z.object({
  user_id: shopperQueryShape.user_id,
  user_sig: shopperQueryShape.user_sig,
});

/**
 * `GET /v1/prices?product_ids=a,b,c` → `{ prices: [PriceQuote] }` (unknown ids are left out, and so
 * are items the catalogue has no price for);
 * `tracking=off`: base prices without tokens, no id, no cookie.
 * `POST /v1/prices/verify` `{ tokens, user_id?, user_sig?, anonymous_id? }` → `{ results: [{ index, valid, reason?,
 * product_id?, price?, currency?, expires_at?, quote_id? }], valid }`; the shopper is the one named in the body
 * (`null` or `""` is absent there, and a whole-number `user_id` is its decimal string: VerifyBodySchema),
 * else the request's `rx_uid` and `user_id` (query or `x-rx-user-id`, as on every route). Either way a
 * user id needs its signature where USER_ID_SECRET is set (the body's in `user_sig`). A token names
 * the hash it was quoted for: the user's once logged in, the anonymous session's before, so with both
 * known either verifies (shopper quoted, then logged in, then checked out). Claims are returned only
 * for tokens whose signature holds. A token is checked with the key its key id names, the current
 * `PRICE_SIGNING_KEY` or `PRICE_SIGNING_KEY_PREVIOUS` (a rotation); naming neither is `unknown_key`.
 * An entry of `tokens` that cannot be a token (not a string, empty, longer than any the worker signs)
 * is `malformed` at its index; the rest are still checked.
 */
export const prices = new Hono<AppEnv>()
  .get(
    '/',
    async (c, next) => {
      assertQueryLength(c.req.url);
      await next();
    },
    zValidator('query', singleValuedQuery(PricesQuerySchema), rejectInvalid('query')),
    async (c) => {
      const query = c.req.valid('query');
      const userId = await requestUserId(c, c.env, query);
      c.header('cache-control', 'private, no-store');
      if (query.tracking === 'off') {
        // A shopper who may not be tracked: no id is made, no cookie set.
        return c.json({ prices: await basePrices(c.env, c.executionCtx, query.product_ids) });
      }
      const shopper = await identifyShopper(c, c.env, userId ? { userId } : {});
      // Without USER_HASH_KEY a token could name no one (Shopper.hashed): getPrices signs none then.
      // Said in the log at the first quote; the tokens are refused at verify (below).
      sharedSigningSecret(c.env);
      const quotes = await getPrices(c.env, c.executionCtx, shopper, query.product_ids);
      setShopperCookie(c, shopper);
      return c.json({ prices: quotes });
    },
  )
  .post(
    '/verify',
    bodyLimit({
      maxSize: MAX_VERIFY_BODY_BYTES,
      onError: (c) =>
        c.json(
          errorBody('payload_too_large', `The request body is over ${MAX_VERIFY_BODY_BYTES / 1024} KB`),
          413,
        ),
    }),
    async (c, next) => {
      // Media types ignore case: a checkout server's `Application/JSON` is JSON too.
      const mediaType = mediaTypeOf(c.req.header('content-type'));
      if (!isJsonMediaType(mediaType)) {
        throw new ApiError(
          415,
          'unsupported_media_type',
          'Send a JSON body with Content-Type: application/json',
          [{ field: 'content-type', reason: `"${mediaType.slice(0, 64)}" is not accepted` }],
        );
      }
      // Parsed here (Hono caches it for the validator), so broken JSON is a 400 that says so.
      try {
        await c.req.json();
      } catch {
        throw new ApiError(400, 'malformed_json', 'The request body is not valid JSON');
      }
      await next();
    },
    zValidator('query', singleValuedQuery(VerifyQuerySchema), rejectInvalid('query')),
    zValidator('json', VerifyBodySchema, rejectInvalid('body')),
    async (c) => {
      // Signed with PRICE_SIGNING_KEY; during a rotation PRICE_SIGNING_KEY_PREVIOUS verifies too.
      const keyring = await priceKeyring(c.env);
      if (!keyring) {
        throw new ApiError(
          503,
          'signing_unavailable',
          'Price tokens cannot be verified: PRICE_SIGNING_KEY is not set',
        );
      }
      // With USER_ID_SECRET equal to a price key, a signed user id of the attacker's choosing could be a
      // token's MAC: none is honoured until the secrets differ (/healthz config says down meanwhile).
      if (sharedSigningSecret(c.env) !== undefined) {
        throw new ApiError(
          503,
          'signing_unavailable',
          'Price tokens cannot be verified: USER_ID_SECRET must not equal a price signing key',
        );
      }
      // Tokens name the shopper by userHash, which needs USER_HASH_KEY.
      const hashKey = userHashKey(c.env);
      if (hashKey === undefined) {
        throw new ApiError(
          503,
          'user_hash_unavailable',
          'Price tokens cannot be verified: USER_HASH_KEY is not set',
        );
      }
      const body = c.req.valid('json');
      const { hashes: who, namesUserId } = await verifyingShopper(c, hashKey, body, c.req.valid('query'));
      // Trying unsigned user ids against a page's token has a budget (middleware/verify-guesses.ts).
      const guesser = guessingClient(c, namesUserId);
      refuseBlockedGuesser(c, guesser);
      const results = await Promise.all(
        body.tokens.map(async (token, index) => {
          const check: TokenCheck =
            typeof token === 'string'
              ? await verifyPriceToken(keyring, token, who)
              : { valid: false, reason: 'malformed' };
          if (check.valid) {
            const { p, a, c: currency, e, q } = check.claims;
            return {
              index,
              valid: true,
              product_id: p,
              price: a,
              currency,
              expires_at: new Date(e * 1000).toISOString(),
              // Every token this worker signs has one (the claims schema leaves it optional).
              ...(q ? { quote_id: q } : {}),
            };
          }
          return { index, valid: false, reason: check.reason };
        }),
      );
      await countFailedGuess(
        c,
        guesser,
        results.map((result) => result.reason),
      );
      c.header('cache-control', 'no-store');
      return c.json({ results, valid: results.filter((r) => r.valid).length });
    },
  );

/**
 * The hashes a token may name: the shopper in the body (`user_id`, `anonymous_id`, or both), else the
 * request's (`rx_uid` cookie or `x-rx-uid`, and the user id from the query or `x-rx-user-id`); and
 * whether a user id was among them (what verify-guesses.ts counts).
 */
async function verifyingShopper(
  c: Context<AppEnv>,
  hashKey: string,
  body: z.infer<typeof VerifyBodySchema>,
  query: z.infer<typeof VerifyQuerySchema>,
): Promise<{ hashes: string[]; namesUserId: boolean }> {
  const site = c.env.SITE_ID;
  if (body.user_id || body.anonymous_id) {
    // A body's user id is checked as a query's is: with USER_ID_SECRET, only with its signature (403
    // otherwise). Unchecked, anyone holding a page's price token could try guesses of the user id
    // behind its pseudonym here, unlimited (this route is not rate limited), and learn who it is.
    const userId = body.user_id
      ? await requestUserId(c, c.env, { user_id: body.user_id, user_sig: body.user_sig })
      : undefined;
    // Each by its own kind: a UUID sent as `anonymous_id` never names the user whose id it is.
    const ids: ShopperId[] = [];
    if (userId) ids.push({ userId });
    if (body.anonymous_id) ids.push({ anonymousId: body.anonymous_id });
    return { hashes: await Promise.all(ids.map((id) => userHash(hashKey, site, id))), namesUserId: !!userId };
  }
  const userId = await requestUserId(c, c.env, query);
  const shopper = await identifyShopper(c, c.env, userId ? { userId } : {});
  // A new anonymous id (no cookie came) was made up here: no token can name it.
  const hashes =
    shopper.isNew || shopper.anonymousHash === shopper.userHash
      ? [shopper.userHash]
      : [shopper.userHash, shopper.anonymousHash];
  return { hashes, namesUserId: userId !== undefined };
}
