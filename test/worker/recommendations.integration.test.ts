import { beforeAll, describe, expect, it } from 'vitest';
import { activityKey, generationKey, purchasesKey, recommendationKey } from '../../worker/src/cache/keys';
import type { Env } from '../../worker/src/env';
import { recommendationContext } from '../../worker/src/recommend/context';
import { signUserId } from '../../worker/src/shopper/user-signature';
import {
  call,
  categoryOfProduct,
  directRedis,
  edgeEnv,
  hashOf,
  newShopper,
  plantStaleEntry,
  productId,
  provided,
  publish,
  recommend,
  SITE,
  userHashOf,
} from './edge-api-support';

/** Activity entries as the event consumer writes them (newest first). */
async function seedActivity(
  hash: string,
  entries: Array<{ id: string; kind: 'view' | 'cart' | 'purchase' }>,
) {
  const redis = directRedis();
  const now = Date.now();
  const values = entries.map((entry, i) =>
    JSON.stringify({ product_id: entry.id, kind: entry.kind, at: now - i }),
  );
  // RPUSH keeps the given order: entries[0] is the newest.
  await redis.rpush(activityKey(SITE, hash), ...values);
}

/** The cache key of a treatment shopper's 4 recommendations on product page `index`, under fixture-v1. */
function productPageKey(hash: string, index: number): string {
  return recommendationKey({
    site: SITE,
    userHash: hash,
    placement: 'product',
    context: recommendationContext({ placement: 'product', productId: productId(index), limit: 4 }),
    modelVersion: 'fixture-v1',
    bucket: 'treatment',
  });
}

/** The cache key of a treatment shopper's 2-item home list, under fixture-v1. */
function homeListKey(hash: string): string {
  return recommendationKey({
    site: SITE,
    userHash: hash,
    placement: 'home',
    context: recommendationContext({ placement: 'home', limit: 2 }),
    modelVersion: 'fixture-v1',
    bucket: 'treatment',
  });
}

/** An item written into a cache entry by hand: an answer showing its `title` was served from that entry. */
function plantedItem(title: string) {
  return { product_id: productId(30), title, url: '/p', image: '/i', price: 1, score: 1 };
}

beforeAll(async () => {
  // The first ORT session of an isolate is slow in the vitest pool; publishing v1 creates it once here.
  const response = await publish('v1', 'fixture-v1');
  expect(response.status).toBe(200);
}, 120_000);

describe('GET /v1/recommendations: placements', () => {
  it('home, anonymous and without history: popularity, most popular first, unavailable item never shown', async () => {
    const { response, body } = await recommend('placement=home&limit=4');
    expect(response.status).toBe(200);
    expect(body.model_version).toBe('fixture-v1');
    expect(body.source).toBe('popularity');
    expect(body.bucket).toBe('treatment');
    expect(body.recommendation_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.items).toHaveLength(4);
    expect(body.items[0]?.product_id).toBe(productId(0));
    expect(body.items.map((i) => i.product_id)).not.toContain(productId(39));
    for (const item of body.items) {
      expect(item).toEqual({
        product_id: expect.any(String),
        title: expect.any(String),
        url: expect.stringMatching(/^\/products\//),
        image: expect.any(String),
        price: expect.any(Number),
        score: expect.any(Number),
      });
    }
  });

  it('sets a long-lived, Secure, SameSite=Lax rx_uid cookie for a new shopper and not for a known one', async () => {
    const { response } = await recommend('placement=home&limit=2');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^rx_uid=[0-9a-f-]{36}; Max-Age=34560000; Path=\/; Secure; SameSite=Lax$/);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    const shopper = await newShopper();
    const again = await recommend('placement=home&limit=2', { cookie: shopper.cookie });
    expect(again.response.headers.get('set-cookie')).toBeNull();
  });

  it('product: items like the product (same category), never the product itself', async () => {
    const { body } = await recommend(`placement=product&product_id=${productId(4)}&limit=4`);
    expect(body.source).toBe('similar');
    const ids = body.items.map((i) => i.product_id);
    expect(ids).not.toContain(productId(4));
    // Closest same-category items first (the fixture's similarity decays with distance).
    expect(ids[0]).toBe(productId(0));
    expect(categoryOfProduct(ids[0] ?? '')).toBe('mugs');
  });

  it('cart: complements of the cart (category c+1), excluding what is in the cart', async () => {
    const cart = [productId(1), productId(5)]; // candles
    const { body } = await recommend(`placement=cart&product_ids=${cart.join(',')}&limit=4`);
    expect(body.source).toBe('complements');
    const ids = body.items.map((i) => i.product_id);
    for (const id of cart) expect(ids).not.toContain(id);
    // Candles are complemented by bags; the family cap (2 of 4) lets other families fill the rest.
    expect(ids.slice(0, 2).map(categoryOfProduct)).toEqual(['bags', 'bags']);
  });

  it('category: only items of that category, the family cap does not apply', async () => {
    const { body } = await recommend('placement=category&category=toys&limit=5');
    expect(body.items).toHaveLength(5);
    expect(body.items.every((i) => categoryOfProduct(i.product_id) === 'toys')).toBe(true);
  });

  it('diversity: no product family takes more than 40% of a row', async () => {
    const { body } = await recommend(`placement=product&product_id=${productId(8)}&limit=5`);
    const families = body.items.map((i) => categoryOfProduct(i.product_id));
    const mugs = families.filter((f) => f === 'mugs').length;
    expect(body.items).toHaveLength(5);
    expect(mugs).toBeLessThanOrEqual(2);
  });

  it('unknown product ids are a fallback, not an error', async () => {
    const { response, body } = await recommend('placement=product&product_id=NOPE-1&limit=3');
    expect(response.status).toBe(200);
    expect(body.source).toBe('popularity');
    expect(body.items).toHaveLength(3);
  });
});

describe('GET /v1/recommendations?tracking=off (a shopper who may not be tracked)', () => {
  it("answers from the page alone: a first-time shopper's list, no id, no cookie, no bucket, nothing in Redis", async () => {
    // A site of its own, so the check sees every key this request could write (all start with
    // `rx:{site}:`) and no other test file's writes to the shared redis-server.
    const site = `untracked-${crypto.randomUUID()}`;
    const query = `placement=product&product_id=${productId(4)}&limit=4`;
    const { response, body } = await recommend(`${query}&tracking=off`, {}, { SITE_ID: site });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(body).toMatchObject({ model_version: 'fixture-v1', placement: 'product', source: 'similar' });
    expect(body).not.toHaveProperty('bucket');
    expect(await directRedis().keys(`rx:${site}:*`)).toEqual([]);
    const firstTime = await recommend(query, { cookie: (await newShopper()).cookie });
    expect(body.items.map((i) => i.product_id)).toEqual(firstTime.body.items.map((i) => i.product_id));
  });

  it("ignores an id it is sent: a known shopper's history does not leak into untracked results", async () => {
    const shopper = await newShopper();
    await seedActivity(shopper.hash, [
      { id: productId(2), kind: 'view' },
      { id: productId(6), kind: 'view' },
    ]);
    const tracked = await recommend('placement=home&limit=4', { cookie: shopper.cookie });
    expect(tracked.body.source).toBe('similar');
    const untracked = await recommend('placement=home&limit=4&tracking=off', {
      cookie: shopper.cookie,
      'x-rx-uid': shopper.id,
    });
    expect(untracked.body.source).toBe('popularity');
    expect(untracked.body.items[0]?.product_id).toBe(productId(0));
  });

  it('refuses a user_id (query or header) with tracking=off, a bad one, and any tracking but off, naming the field', async () => {
    const both = await call('/v1/recommendations?placement=home&tracking=off&user_id=u-1');
    expect(both.status).toBe(400);
    const bothBody = (await both.json()) as { error: { code: string; details: Array<{ field: string }> } };
    expect(bothBody.error.code).toBe('invalid_request');
    expect(bothBody.error.details.map((d) => d.field)).toEqual(['user_id']);
    for (const [query, header, reason] of [
      ['placement=home', '%E0%A4%A', 'must be percent-encoded UTF-8'],
      ['placement=home', '%01', 'must be 1-256 characters without control characters'],
      ['placement=home&tracking=off', 'u-1', 'must not be given with tracking=off'],
    ]) {
      const response = await call(`/v1/recommendations?${query}`, {
        headers: { 'x-rx-user-id': header ?? '' },
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as {
        error: { details: Array<{ field: string; reason: string }> };
      };
      expect(body.error.details).toEqual([{ field: 'x-rx-user-id', reason }]);
    }
    const other = await call('/v1/recommendations?placement=home&tracking=no');
    expect(other.status).toBe(400);
    const otherBody = (await other.json()) as { error: { details: Array<{ field: string }> } };
    expect(otherBody.error.details.map((d) => d.field)).toEqual(['tracking']);
  });
});

describe('personalization from Redis activity', () => {
  it('an anonymous shopper who viewed bags gets bags first (session item-to-item)', async () => {
    const shopper = await newShopper();
    await seedActivity(shopper.hash, [
      { id: productId(2), kind: 'view' },
      { id: productId(6), kind: 'view' },
    ]);
    const { body } = await recommend('placement=home&limit=4', { cookie: shopper.cookie });
    expect(body.source).toBe('similar');
    expect(categoryOfProduct(body.items[0]?.product_id ?? '')).toBe('bags');
    const cold = await recommend('placement=home&limit=4', { cookie: (await newShopper()).cookie });
    expect(cold.body.items.map((i) => i.product_id)).not.toEqual(body.items.map((i) => i.product_id));
  });

  it('an identified shopper gets the learned personal model; bought items are excluded', async () => {
    // An id as a login service makes it (`|`), sent as the plugin sends it: in a header, encoded.
    const userId = `auth0|user-${crypto.randomUUID()}`;
    const hash = await userHashOf(userId);
    await seedActivity(hash, [{ id: productId(3), kind: 'purchase' }]);
    // Without the purchase exclusion the personal model would rank toys P10003 high for a toy buyer.
    await directRedis().sadd(purchasesKey(SITE, hash), productId(3), productId(7));
    const { body } = await recommend('placement=home&limit=4', {
      'x-rx-user-id': encodeURIComponent(userId),
    });
    expect(body.source).toBe('personal');
    const ids = body.items.map((i) => i.product_id);
    expect(categoryOfProduct(ids[0] ?? '')).toBe('toys');
    expect(ids).not.toContain(productId(3));
    expect(ids).not.toContain(productId(7));
    // `user_id=` (a shop's server) names the same shopper.
    const byQuery = await recommend(`placement=home&limit=4&user_id=${encodeURIComponent(userId)}`);
    expect(byQuery.body.items.map((i) => i.product_id)).toEqual(ids);
  });

  it('what a shopper bought as a guest is not offered to them once they log in on that browser', async () => {
    // A guest checkout is stored under the browser's anonymous id only (no user id on those events).
    const loggedInAfterGuestCheckout = async (bought: string[]) => {
      const guest = await newShopper();
      await seedActivity(guest.hash, [{ id: productId(3), kind: 'purchase' }]);
      await directRedis().sadd(purchasesKey(SITE, guest.hash), productId(3), ...bought);
      const userId = `user-${crypto.randomUUID()}`;
      const { response, body } = await recommend(
        `placement=home&limit=8&user_id=${encodeURIComponent(userId)}`,
        { cookie: guest.cookie },
      );
      expect(response.status).toBe(200);
      expect(body.source).toBe('personal');
      return body.items.map((i) => i.product_id);
    };
    // A toy buyer is offered the toy P10007 ...
    expect(await loggedInAfterGuestCheckout([])).toContain(productId(7));
    // ... unless they bought it as a guest.
    const ids = await loggedInAfterGuestCheckout([productId(7)]);
    expect(ids).toHaveLength(8);
    expect(ids).not.toContain(productId(7));
    expect(ids).not.toContain(productId(3));
  });
});

describe('signed user ids (USER_ID_SECRET)', () => {
  const secret = { USER_ID_SECRET: 'test-user-id-secret' };

  it('takes a user id only with its signature, by header or query; 403 naming user_sig otherwise', async () => {
    const userId = `auth0|user-${crypto.randomUUID()}`;
    const signature = await signUserId(secret.USER_ID_SECRET, userId);
    const header = { 'x-rx-user-id': encodeURIComponent(userId) };

    const unsigned = await recommend('placement=home&limit=4', header, secret);
    expect(unsigned.response.status).toBe(403);
    expect(unsigned.body).toMatchObject({
      error: { code: 'user_signature_required', details: [{ field: 'user_sig' }] },
    });
    const forged = await recommend(
      'placement=home&limit=4',
      { ...header, 'x-rx-user-sig': 'ab'.repeat(32) },
      secret,
    );
    expect(forged.response.status).toBe(403);
    expect(forged.body).toMatchObject({ error: { code: 'user_signature_invalid' } });
    // Not a signature at all: 400 naming the header, as `user_sig=zz` in the query names user_sig.
    const garbled = await recommend('placement=home&limit=4', { ...header, 'x-rx-user-sig': 'zz' }, secret);
    expect(garbled.response.status).toBe(400);
    expect(garbled.body).toMatchObject({
      error: { code: 'invalid_request', details: [{ field: 'x-rx-user-sig' }] },
    });
    // A signature of another id does not carry over.
    const otherSignature = await signUserId(secret.USER_ID_SECRET, `${userId}x`);
    const swapped = await recommend(
      'placement=home&limit=4',
      { ...header, 'x-rx-user-sig': otherSignature },
      secret,
    );
    expect(swapped.response.status).toBe(403);

    const signed = await recommend(
      'placement=home&limit=4',
      { ...header, 'x-rx-user-sig': signature },
      secret,
    );
    expect(signed.response.status).toBe(200);
    const byQuery = await recommend(
      `placement=home&limit=4&user_id=${encodeURIComponent(userId)}&user_sig=${signature.toUpperCase()}`,
      {},
      secret,
    );
    expect(byQuery.response.status).toBe(200);
    // Anonymous shoppers are unaffected.
    expect((await recommend('placement=home&limit=4', {}, secret)).response.status).toBe(200);
  });

  it('a USER_ID_SECRET of only whitespace is no secret: user ids are taken as without one, not signed with a key anyone can guess', async () => {
    const userId = `auth0|user-${crypto.randomUUID()}`;
    const header = { 'x-rx-user-id': encodeURIComponent(userId) };
    for (const blank of [' ', '\n', ' \t ']) {
      // Before: the id was demanded with a signature under the blank key, which anyone can compute, so
      // the shop believed its user ids unclaimable when they were not.
      const unsigned = await recommend('placement=home&limit=4', header, { USER_ID_SECRET: blank });
      expect(unsigned.response.status).toBe(200);
    }
  });

  it('signs as a shop server does with Node: hex HMAC-SHA256 of the id under the secret', async () => {
    // node -e "console.log(require('crypto').createHmac('sha256','k').update('u-1').digest('hex'))"
    expect(await signUserId('k', 'u-1')).toBe(
      '00d01e9947a7d9b071652f1faee0c6df72a8ee179ef24a1ba3322f7961270044',
    );
  });
});

describe('per-user cache in Upstash', () => {
  it('the second identical request is a cache hit, visible in Redis under the shopper key', async () => {
    const shopper = await newShopper();
    const query = `placement=product&product_id=${productId(12)}&limit=4`;
    const first = await recommend(query, { cookie: shopper.cookie });
    expect(first.body.cached).toBe(false);
    const key = productPageKey(shopper.hash, 12);
    const stored = await directRedis().get<string>(key);
    expect(stored).not.toBeNull();
    expect(key).not.toContain(shopper.id);
    const second = await recommend(query, { cookie: shopper.cookie });
    expect(second.body.cached).toBe(true);
    expect(second.body.items).toEqual(first.body.items);
    expect(second.body.recommendation_id).not.toBe(first.body.recommendation_id);
  });

  it('a first-time shopper (no cookie, no header) gets the page-only answer: nothing read or written under the new id', async () => {
    const query = `placement=product&product_id=${productId(14)}&limit=4`;
    const keyFor = (hash: string) => productPageKey(hash, 14);
    const first = await recommend(query);
    const id = /^rx_uid=([^;]+)/.exec(first.response.headers.get('set-cookie') ?? '')?.[1] ?? '';
    expect(id).not.toBe('');
    expect(first.body).toMatchObject({ bucket: 'treatment', source: 'similar', cached: false });
    expect(await directRedis().get(keyFor(await hashOf(id)))).toBeNull();

    // The same list a returning shopper without history gets through the cache, and the page-only one.
    const known = await newShopper();
    const returning = await recommend(query, { cookie: known.cookie });
    expect(returning.body.items).toEqual(first.body.items);
    expect(await directRedis().get(keyFor(known.hash))).not.toBeNull();
    expect((await recommend(`${query}&tracking=off`)).body.items).toEqual(first.body.items);
    // Back with the cookie it was given, the shopper is a returning one: read and cached as usual.
    const back = await recommend(query, { cookie: `rx_uid=${id}` });
    expect(back.body).toMatchObject({ cached: false, items: first.body.items });
    expect(await directRedis().get(keyFor(await hashOf(id)))).not.toBeNull();
  });

  it('script mode: an id sent with x-rx-uid-new: 1 is a first visit (page-only answer, nothing written); with a cookie the hint is ignored', async () => {
    const query = `placement=product&product_id=${productId(16)}&limit=4`;
    const keyFor = (hash: string) => productPageKey(hash, 16);
    const fresh = await newShopper();
    const hinted = await recommend(query, { 'x-rx-uid': fresh.id, 'x-rx-uid-new': '1' });
    expect(hinted.body).toMatchObject({ bucket: 'treatment', source: 'similar', cached: false });
    expect(hinted.response.headers.get('set-cookie')).toBeNull();
    expect(await directRedis().get(keyFor(fresh.hash))).toBeNull();
    // Once its events have reached the worker the plugin stops saying so: the usual lookup and write.
    const later = await recommend(query, { 'x-rx-uid': fresh.id });
    expect(later.body).toMatchObject({ cached: false, items: hinted.body.items });
    expect(await directRedis().get(keyFor(fresh.hash))).not.toBeNull();

    // A cookie says the worker has seen the id: the hint does not skip the cache.
    const returning = await newShopper();
    await recommend(query, { cookie: returning.cookie, 'x-rx-uid-new': '1' });
    expect(await directRedis().get(keyFor(returning.hash))).not.toBeNull();
    // Any value but 1 is no hint.
    const other = await newShopper();
    await recommend(query, { 'x-rx-uid': other.id, 'x-rx-uid-new': 'yes' });
    expect(await directRedis().get(keyFor(other.hash))).not.toBeNull();
  });

  it('a logged-in shopper without a stable rx_uid (no cookie, or an id the plugin just made) hits from the second request on', async () => {
    const userId = `user-${crypto.randomUUID()}`;
    const query = `placement=product&product_id=${productId(18)}&limit=4&user_id=${encodeURIComponent(userId)}`;
    // No cookie, no x-rx-uid: each request is given a new anonymous id, so it names no session.
    const answers = [await recommend(query), await recommend(query), await recommend(query)];
    expect(answers.map(({ body }) => body.cached)).toEqual([false, true, true]);
    expect(answers[1]?.body.items).toEqual(answers[0]?.body.items);
    expect(new Set(answers.map(({ response }) => response.headers.get('set-cookie'))).size).toBe(3);
    // The entry is the user's alone: under their hash, with no session in its key.
    const hash = await userHashOf(userId);
    expect(await directRedis().get(productPageKey(hash, 18))).not.toBeNull();

    // Script mode, an id the plugin made on this page (x-rx-uid-new: 1), a new one on each page.
    const other = `user-${crypto.randomUUID()}`;
    const scripted = `placement=home&limit=4&user_id=${encodeURIComponent(other)}`;
    const fresh = async () =>
      (await recommend(scripted, { 'x-rx-uid': crypto.randomUUID(), 'x-rx-uid-new': '1' })).body.cached;
    expect([await fresh(), await fresh(), await fresh()]).toEqual([false, true, true]);
  });

  it('a logged-in shopper on two devices keeps an entry per device: switching back and forth hits on both, and their own events invalidate both', async () => {
    const userId = `user-${crypto.randomUUID()}`;
    const query = `placement=home&limit=4&user_id=${encodeURIComponent(userId)}`;
    const [phone, laptop] = [await newShopper(), await newShopper()];
    const on = async (device: { cookie: string }) =>
      (await recommend(query, { cookie: device.cookie })).body.cached;
    expect(await on(phone)).toBe(false);
    expect(await on(laptop)).toBe(false);
    expect([await on(phone), await on(laptop), await on(phone), await on(laptop)]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    // An event with the user id (on either device) bumps the user's generation: a miss on both.
    await directRedis().incr(generationKey(SITE, await userHashOf(userId)));
    expect([await on(phone), await on(laptop)]).toEqual([false, false]);
    expect([await on(phone), await on(laptop)]).toEqual([true, true]);
  });

  /** A new shopper whose 2-item home list is cached, past its freshness, with a `planted` item. */
  async function shopperWithStaleHomeList(overrides: Partial<Env> = {}) {
    const shopper = await newShopper();
    const key = homeListKey(shopper.hash);
    const planted = plantedItem('planted');
    const stale = await plantStaleEntry(key, [planted, planted]);
    const fiveAtOnce = () =>
      Promise.all(
        Array.from({ length: 5 }, () =>
          recommend('placement=home&limit=2', { cookie: shopper.cookie }, overrides),
        ),
      );
    return { shopper, key, stale, fiveAtOnce };
  }

  it('a stale entry is served at once while one request (holding the lock) refreshes it', async () => {
    const { shopper, key, fiveAtOnce } = await shopperWithStaleHomeList();
    for (const { body } of await fiveAtOnce()) {
      expect(body.cached).toBe(true);
      expect(body.items[0]?.title).toBe('planted');
    }
    // The refresh ran in the background of one request: lock taken, entry recomputed and fresh again.
    expect(await directRedis().get(`${key}:lock`)).toBe('1');
    const refreshed = JSON.parse((await directRedis().get<string>(key)) ?? '{}') as {
      f: number;
      items: Array<{ product_id: string }>;
    };
    expect(refreshed.f).toBeGreaterThan(Date.now());
    expect(refreshed.items[0]?.product_id).toBe(productId(0));
    const next = await recommend('placement=home&limit=2', { cookie: shopper.cookie });
    expect(next.body.items[0]?.product_id).toBe(productId(0));
  });

  it('the refresh lock lasts no longer than the refreshed entry stays fresh, so its next stale spell is refreshed too', async () => {
    // CACHE_TTL_SECONDS below the lock's 10 s: a lock outliving the freshness of the entry it refreshed
    // was still held when that entry went stale, so no request refreshed it (stale until it expired,
    // then a miss running the model on the request's path).
    const { key, fiveAtOnce } = await shopperWithStaleHomeList({ CACHE_TTL_SECONDS: '2' });
    await fiveAtOnce();
    const refreshed = JSON.parse((await directRedis().get<string>(key)) ?? '{}') as { f: number };
    expect(refreshed.f).toBeGreaterThan(Date.now());
    const lockTtl = Number(await directRedis().pttl(`${key}:lock`));
    expect(lockTtl).toBeGreaterThan(0);
    expect(lockTtl).toBeLessThanOrEqual(2_000);
  });

  it('while another request holds the refresh lock, a stale entry is served and nobody else recomputes it', async () => {
    const { key, stale, fiveAtOnce } = await shopperWithStaleHomeList();
    await directRedis().set(`${key}:lock`, '1', { ex: 60 });
    for (const { body } of await fiveAtOnce()) expect(body.items[0]?.title).toBe('planted');
    // Their background work is over (call waits for it): the entry is still the stale one, unrefreshed.
    expect(await directRedis().get(key)).toBe(stale);
  });

  it('a miss is stored stamped with the generation its lookup read, replacing an entry whose counter was lost', async () => {
    // An entry stamped g: 3 whose generation counter was deleted or evicted (it reads 0 now): a miss
    // for every lookup. (An entry merely newer than a slow request's lookup is kept: the conditional
    // write's own tests in cache-lookup.integration.test.ts, on both kinds of server.)
    const shopper = await newShopper();
    const query = 'placement=home&limit=2';
    const key = homeListKey(shopper.hash);
    const planted = plantedItem('orphan');
    await directRedis().set(
      key,
      JSON.stringify({ g: 3, source: 'personal', items: [planted, planted], f: Date.now() + 60_000 }),
      { ex: 600 },
    );
    const storedAt = async (g: number) => {
      // The write runs after the answer (waitUntil): wait for it.
      for (let i = 0; i < 50; i++) {
        const text = await directRedis().get<string>(key);
        if (text !== null && (JSON.parse(text) as { g: number }).g === g) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no entry stamped g: ${g} under the key`);
    };

    const first = await recommend(query, { cookie: shopper.cookie });
    expect(first.body.cached).toBe(false);
    expect(first.body.items[0]?.title).not.toBe('orphan');
    await storedAt(0);
    expect((await recommend(query, { cookie: shopper.cookie })).body).toMatchObject({ cached: true });

    // An event moves the generation: the next miss is stored at 1, and is the hit after it.
    await directRedis().incr(generationKey(SITE, shopper.hash));
    expect((await recommend(query, { cookie: shopper.cookie })).body.cached).toBe(false);
    await storedAt(1);
    expect((await recommend(query, { cookie: shopper.cookie })).body.cached).toBe(true);
  });

  it('an event bumping the generation counter makes the cached result stale', async () => {
    const shopper = await newShopper();
    const query = 'placement=home&limit=4';
    await recommend(query, { cookie: shopper.cookie });
    expect((await recommend(query, { cookie: shopper.cookie })).body.cached).toBe(true);
    await seedActivity(shopper.hash, [{ id: productId(1), kind: 'view' }]);
    await directRedis().incr(generationKey(SITE, shopper.hash));
    const after = await recommend(query, { cookie: shopper.cookie });
    expect(after.body.cached).toBe(false);
    expect(categoryOfProduct(after.body.items[0]?.product_id ?? '')).toBe('candles');
  });

  it('a bundle another isolate published (pointer moved in R2) is picked up by polling, without a redeploy', async () => {
    const bucket = edgeEnv().MODEL_STORE;
    if (!bucket) throw new Error('MODEL_STORE binding missing');
    // As `npm run models:publish` leaves it: the files under their version, then the pointer.
    for (const [file, base64] of Object.entries(provided().bundles.v2)) {
      await bucket.put(
        `bundles/fixture-v2/${file}`,
        Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)),
      );
    }
    await bucket.put(
      'current.json',
      JSON.stringify({ version: 'fixture-v2', publishedAt: new Date().toISOString() }),
    );
    // This request still serves v1 and, its response sent, checks the pointer in the background...
    expect((await recommend('placement=home&limit=1')).body.model_version).toBe('fixture-v1');
    // ...so the next one is served by v2.
    expect((await recommend('placement=home&limit=1')).body.model_version).toBe('fixture-v2');
    expect((await publish('v1', 'fixture-v1')).status).toBe(200);
  });

  it('a new bundle version gets new keys: nothing cached for the old one is served', async () => {
    const shopper = await newShopper();
    const query = 'placement=category&category=bags&limit=3';
    await recommend(query, { cookie: shopper.cookie });
    expect((await recommend(query, { cookie: shopper.cookie })).body.cached).toBe(true);
    expect((await publish('v2', 'fixture-v2')).status).toBe(200);
    const after = await recommend(query, { cookie: shopper.cookie });
    expect(after.body.model_version).toBe('fixture-v2');
    expect(after.body.cached).toBe(false);
    const keys = await directRedis().keys(`rx:${SITE}:rec:${shopper.hash}:*`);
    expect(keys.some((k) => k.endsWith(':fixture-v1'))).toBe(true);
    expect(keys.some((k) => k.endsWith(':fixture-v2'))).toBe(true);
    expect((await publish('v1', 'fixture-v1')).status).toBe(200);
  });
});
