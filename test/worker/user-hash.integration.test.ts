/**
 * Shopper pseudonyms (worker/src/shopper/user-hash.ts): HMAC-SHA-256 under USER_HASH_KEY, so a hash seen
 * in a Redis key, a log line or a price token cannot be reversed by hashing a dictionary of ids with the
 * public SITE_ID. An anonymous id and a user id are hashed as two kinds, so that an rx_uid equal to
 * someone's user id (a UUID) never names that user (shopper-id-kinds.integration.test.ts drives the
 * routes). Every writer and reader shares the one function: the API's cache lookups and writes, the
 * events consumer's activity, price tokens and their verification. Without the key nothing is stored
 * per shopper, and /healthz says so.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { activityKey, recommendationKey } from '../../worker/src/cache/keys';
import type { Env } from '../../worker/src/env';
import { getPrices } from '../../worker/src/prices';
import { recommendationContext } from '../../worker/src/recommend/context';
import { identifyShopper, limiterKey, userHash, userHashHealth } from '../../worker/src/shopper';
import {
  call,
  consume,
  directRedis,
  edgeEnv,
  hashOf,
  newShopper,
  recommend,
  SITE,
  USER_HASH_KEY,
  userHashOf,
  warmIsolate,
} from './edge-api-support';
import { runId } from './events-support';

/** A product of the built-in bundle (this file publishes none). */
const PRODUCT = '85123A';
const OTHER_KEY = 'another-user-hash-key-0123456789abcdef';

/** Every key in the server, by SCAN. */
async function allKeys(redis: ReturnType<typeof directRedis>): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | number = 0;
  do {
    const [next, batch]: [string | number, string[]] = await redis.scan(cursor, { count: 1_000 });
    keys.push(...batch);
    cursor = next;
  } while (String(cursor) !== '0');
  return keys;
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes, 0, 16)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** What the worker stored before USER_HASH_KEY: the plain SHA-256 anyone can compute from SITE_ID and an id. */
async function unkeyedHash(site: string, id: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${site}\n${id}`)));
}

/** HMAC-SHA-256 of `text` written out here, independently of the worker's code, as the reference. */
async function hmacHash(key: string, text: string): Promise<string> {
  const encoder = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey(
    'raw',
    encoder.encode(key),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return hex(await crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(text)));
}

function viewed(anonymousId: string): StoredEvent {
  const run = runId();
  return {
    type: 'track',
    event: 'Product Viewed',
    messageId: `${run}-1`,
    anonymousId,
    timestamp: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
    site: SITE,
    bucket: 'treatment',
    model_version: null,
    properties: { run, product_id: PRODUCT },
  };
}

function productPageKey(hash: string, modelVersion: string): string {
  return recommendationKey({
    site: SITE,
    userHash: hash,
    placement: 'product',
    context: recommendationContext({ placement: 'product', productId: PRODUCT, limit: 4 }),
    modelVersion,
    bucket: 'treatment',
  });
}

const productQuery = `placement=product&product_id=${PRODUCT}&limit=4`;

/** A price quote's token for the shopper of `cookie` (null: unsigned). */
async function quote(cookie: string, overrides: Partial<Env> = {}): Promise<string | null> {
  const response = await call(`/v1/prices?product_ids=${PRODUCT}`, { headers: { cookie } }, overrides);
  expect(response.status).toBe(200);
  const { prices } = (await response.json()) as { prices: Array<{ token: string | null }> };
  expect(prices).toHaveLength(1);
  return prices[0]?.token ?? null;
}

/** The claims of a token: its payload is the segment before the MAC, whatever the version. */
function claimsOf(token: string): { u: string } {
  const parts = token.split('.');
  return JSON.parse(atob((parts[parts.length - 2] ?? '').replaceAll('-', '+').replaceAll('_', '/')));
}

/** Asks the worker to verify `token` for the shopper of `cookie`. */
async function verify(token: string, cookie: string, overrides: Partial<Env> = {}) {
  return call(
    '/v1/prices/verify',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ tokens: [token] }),
    },
    overrides,
  );
}

beforeAll(warmIsolate, 60_000);

describe('userHash', () => {
  it('is HMAC-SHA-256 under USER_HASH_KEY (first 128 bits) of site and id, the kind of id written in, not the plain SHA-256 anyone can recompute', async () => {
    for (const id of [crypto.randomUUID(), crypto.randomUUID()]) {
      // An anonymous id (rx_uid): `site \n id`, as before user ids had a space of their own, so an
      // anonymous shopper's keys did not change with it.
      const hash = await userHash(USER_HASH_KEY, SITE, { anonymousId: id });
      expect(hash).toMatch(/^[0-9a-f]{32}$/);
      expect(hash).toBe(await hmacHash(USER_HASH_KEY, `${SITE}\n${id}`));
      expect(hash).not.toBe(await unkeyedHash(SITE, id));
    }
    for (const id of ['alice@example.com', '42', crypto.randomUUID()]) {
      // A shop's user id: `site \n user \n id`.
      const hash = await userHash(USER_HASH_KEY, SITE, { userId: id });
      expect(hash).toMatch(/^[0-9a-f]{32}$/);
      expect(hash).toBe(await hmacHash(USER_HASH_KEY, `${SITE}\nuser\n${id}`));
      expect(hash).not.toBe(await hmacHash(USER_HASH_KEY, `${SITE}\n${id}`));
      expect(hash).not.toBe(await unkeyedHash(SITE, id));
    }
  });

  it('never gives an anonymous id the pseudonym of a user id, whatever the ids (a UUID is both)', async () => {
    const id = crypto.randomUUID();
    const asAnonymous = await userHash(USER_HASH_KEY, SITE, { anonymousId: id });
    const asUser = await userHash(USER_HASH_KEY, SITE, { userId: id });
    expect(asAnonymous).not.toBe(asUser);
    // An "anonymous id" that is no rx_uid is refused, not hashed: `user \n <id>` would be the user's text.
    for (const forged of [`user\n${id}`, id.toUpperCase(), 'anon-1', '']) {
      await expect(userHash(USER_HASH_KEY, SITE, { anonymousId: forged })).rejects.toThrow(TypeError);
    }
    // Naming both kinds at once is refused too (the types forbid it; a cast must not pick one silently).
    const both = { anonymousId: id, userId: id } as unknown as { userId: string };
    await expect(userHash(USER_HASH_KEY, SITE, both)).rejects.toThrow(TypeError);
    // identifyShopper: the cookie equal to a user id is an anonymous shopper, not that user.
    const request = new Request('https://rx.test/', { headers: { cookie: `rx_uid=${id}` } });
    const env = { SITE_ID: SITE, HOLDOUT_PERCENT: '0', USER_HASH_KEY };
    expect(await identifyShopper(request, env)).toMatchObject({
      userHash: asAnonymous,
      anonymousHash: asAnonymous,
    });
    expect(await identifyShopper(request, env, { userId: id })).toMatchObject({
      userHash: asUser,
      anonymousHash: asAnonymous,
    });
  });

  it('depends on the key: two keys give two hashes of one id, one key always the same', async () => {
    const id = 'alice@example.com';
    const first = await userHash(USER_HASH_KEY, SITE, { userId: id });
    expect(await userHash(OTHER_KEY, SITE, { userId: id })).not.toBe(first);
    expect(await userHash(USER_HASH_KEY, SITE, { userId: id })).toBe(first);
    // Per site too, as before: one key shared by two shops still gives each its own pseudonyms.
    expect(await userHash(USER_HASH_KEY, `${SITE}-2`, { userId: id })).not.toBe(first);
  });

  it('names the shopper of a request; the holdout bucket does not depend on the key (no arm reshuffled)', async () => {
    const env = { SITE_ID: SITE, HOLDOUT_PERCENT: '50' };
    for (let i = 0; i < 50; i++) {
      const id = crypto.randomUUID();
      const request = () => new Request('https://rx.test/', { headers: { cookie: `rx_uid=${id}` } });
      const one = await identifyShopper(request(), { ...env, USER_HASH_KEY });
      const other = await identifyShopper(request(), { ...env, USER_HASH_KEY: OTHER_KEY });
      expect(one).toMatchObject({ hashed: true, anonymousHash: await hashOf(id) });
      expect(other.anonymousHash).not.toBe(one.anonymousHash);
      expect(other.bucket).toBe(one.bucket);
    }
  });

  it("keys the rate limiters' counters too, in a space of their own, and still limits without the key", async () => {
    const text = 'ratelimit\n192.0.2.0';
    const keyed = await limiterKey({ SITE_ID: SITE, USER_HASH_KEY }, text);
    expect(keyed).toBe(await hmacHash(USER_HASH_KEY, `${SITE}\nlimiter\n${text}`));
    const unkeyed = await limiterKey({ SITE_ID: SITE }, text);
    expect(unkeyed).toBe(await unkeyedHash(SITE, `limiter\n${text}`));
    expect(unkeyed).not.toBe(keyed);
    expect(await limiterKey({ SITE_ID: SITE }, text)).toBe(unkeyed);
    // No text makes a limiter's key a shopper's pseudonym, of either kind.
    const id = crypto.randomUUID();
    expect(await limiterKey({ SITE_ID: SITE, USER_HASH_KEY }, id)).not.toBe(await hashOf(id));
    const userText = `user\n${id}`;
    expect(await limiterKey({ SITE_ID: SITE, USER_HASH_KEY }, userText)).not.toBe(await userHashOf(id));
  });
});

describe('what is stored under a shopper (local Upstash)', () => {
  it("the consumer's activity and the cached list are under the keyed hash, never the plain SHA-256; readers with the same key meet them, another key does not", async () => {
    const shopper = await newShopper();
    const unkeyed = await unkeyedHash(SITE, shopper.id);
    const redis = directRedis();

    expect((await consume([viewed(shopper.id)], edgeEnv())).explicitAcks).toHaveLength(1);
    expect(await redis.llen(activityKey(SITE, shopper.hash))).toBe(1);
    expect(await redis.exists(activityKey(SITE, unkeyed))).toBe(0);

    const first = await recommend(productQuery, { cookie: shopper.cookie });
    expect(first.body.cached).toBe(false);
    expect(await redis.get(productPageKey(shopper.hash, first.body.model_version))).not.toBeNull();
    expect(await redis.get(productPageKey(unkeyed, first.body.model_version))).toBeNull();
    expect((await recommend(productQuery, { cookie: shopper.cookie })).body.cached).toBe(true);

    // A worker with another key (a rotation) finds nothing of this shopper: every key starts afresh.
    const rotated = await recommend(productQuery, { cookie: shopper.cookie }, { USER_HASH_KEY: OTHER_KEY });
    expect(rotated.body.cached).toBe(false);
  });
});

describe('price tokens', () => {
  it('name the keyed hash and verify later with the same key; with another key they name someone else', async () => {
    const shopper = await newShopper();
    const token = await quote(shopper.cookie);
    if (token === null) throw new Error('no price token');
    const payload = claimsOf(token);
    expect(payload.u).toBe(shopper.hash);
    expect(payload.u).not.toBe(await unkeyedHash(SITE, shopper.id));

    const same = (await (await verify(token, shopper.cookie)).json()) as { valid: number };
    expect(same.valid).toBe(1);
    const rotated = (await (await verify(token, shopper.cookie, { USER_HASH_KEY: OTHER_KEY })).json()) as {
      results: Array<{ valid: boolean; reason?: string }>;
    };
    expect(rotated.results[0]).toMatchObject({ valid: false, reason: 'other_user' });
  });
});

describe('a short USER_HASH_KEY', () => {
  it('/healthz does not tell that the key is short (the log does): a short key is one worth guessing', async () => {
    // Any shopper holds an id and its hash (their rx_uid and a price token's `u`) to test guesses against.
    expect(userHashHealth({ USER_HASH_KEY: 'short' })).toEqual({ status: 'ok' });
    const text = await (await call('/healthz', {}, { USER_HASH_KEY: 'short-key' })).text();
    const health = JSON.parse(text) as { components: Record<string, unknown> };
    expect(health.components.user_hash).toEqual({ status: 'ok' });
    expect(text).not.toMatch(/shorter/);
  });
});

describe('without USER_HASH_KEY (a deployment that missed the secret)', () => {
  const missing: Partial<Env> = { USER_HASH_KEY: undefined };

  it('/healthz says user_hash degraded, naming the fix; with the key, ok', async () => {
    const without = (await (await call('/healthz', {}, missing)).json()) as {
      status: string;
      components: Record<string, { status: string; detail?: string }>;
    };
    expect(without.components.user_hash?.status).toBe('degraded');
    expect(without.components.user_hash?.detail).toContain('wrangler secret put USER_HASH_KEY');
    expect(without.status).not.toBe('ok');
    const withKey = (await (await call('/healthz')).json()) as {
      components: Record<string, { status: string }>;
    };
    expect(withKey.components.user_hash?.status).toBe('ok');
    expect(userHashHealth({ USER_HASH_KEY: '  ' }).status).toBe('degraded');
  });

  it('getPrices itself signs no token for a shopper without a hash, whoever calls it (not only the route)', async () => {
    const shopper = await newShopper();
    const request = new Request('https://rx.test/', { headers: { cookie: shopper.cookie } });
    const prices = async (env: Env) => {
      const who = await identifyShopper(request, env, { userId: 'u-4711' });
      const ctx = createExecutionContext();
      const quotes = await getPrices(env, ctx, who, [PRODUCT]);
      await waitOnExecutionContext(ctx);
      expect(quotes).toHaveLength(1);
      return { hashed: who.hashed, token: quotes[0]?.token };
    };
    // PRICE_SIGNING_KEY is set: only the missing USER_HASH_KEY stops the token.
    expect(await prices(edgeEnv(missing))).toEqual({ hashed: false, token: null });
    expect(await prices(edgeEnv())).toEqual({ hashed: true, token: expect.stringMatching(/^v2\./) });
  });

  it('stores and reads nothing per shopper: page-only recommendations, no activity, prices without a token, verify refused', async () => {
    const shopper = await newShopper();
    const redis = directRedis();
    // Every key, by name (a serial file: nothing else writes meanwhile). Counting them would let a new
    // key hide behind one that expired in between.
    const before = new Set(await allKeys(redis));

    const first = await recommend(productQuery, { cookie: shopper.cookie }, missing);
    expect(first.response.status).toBe(200);
    expect(first.body.items.length).toBeGreaterThan(0);
    expect(first.body.cached).toBe(false);
    // Again: the page-only answer from the isolate's memo (cached: true, as for tracking=off), never
    // Redis: no key is read or written for the shopper (below).
    const again = await recommend(productQuery, { cookie: shopper.cookie }, missing);
    expect(again.body).toMatchObject({ cached: true, items: first.body.items });

    expect((await consume([viewed(shopper.id)], edgeEnv(missing))).explicitAcks).toHaveLength(1);
    expect(await redis.exists(activityKey(SITE, shopper.hash))).toBe(0);
    expect(await redis.exists(activityKey(SITE, await unkeyedHash(SITE, shopper.id)))).toBe(0);
    expect((await allKeys(redis)).filter((key) => !before.has(key))).toEqual([]);

    expect(await quote(shopper.cookie, missing)).toBeNull();
    const token = await quote(shopper.cookie);
    if (token === null) throw new Error('no price token');
    const refused = await verify(token, shopper.cookie, missing);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('user_hash_unavailable');
  });
});
