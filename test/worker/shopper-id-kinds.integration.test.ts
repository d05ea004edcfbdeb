/**
 * An anonymous id and a shop's user id are two kinds of shopper id, and their pseudonyms live in two
 * separate spaces (worker/src/shopper/user-hash.ts). Many shops use UUIDs as user ids, and an `rx_uid`
 * is a UUID the browser chooses: were both hashed alike, anyone who knows a customer's user id could
 * send it as their own `rx_uid` (cookie, `x-rx-uid`, a verify body's `anonymous_id`, an event's
 * `anonymousId`) and be that customer: read the list computed from their history, add to it, and have
 * the customer's price tokens verify, even where USER_ID_SECRET refuses the unsigned user id itself.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { activityKey } from '../../worker/src/cache/keys';
import { identifyShopper } from '../../worker/src/shopper';
import { signUserId } from '../../worker/src/shopper/user-signature';
import {
  call,
  consume,
  directRedis,
  edgeEnv,
  newShopper,
  productId,
  publish,
  recommend,
  SITE,
} from './edge-api-support';
import { runId } from './events-support';

/** Signed user ids on, as a shop that wants user ids unclaimable without its signature has them. */
const SIGNED = { USER_ID_SECRET: 'test-user-id-secret-for-kinds' };

/** A customer of a shop whose user ids are UUIDs, with a browser of their own (an rx_uid). */
async function customer() {
  const userId = crypto.randomUUID();
  const browser = await newShopper();
  const signature = await signUserId(SIGNED.USER_ID_SECRET, userId);
  const who = await identifyShopper(
    new Request('https://rx.test/', { headers: { cookie: browser.cookie } }),
    edgeEnv(),
    { userId },
  );
  return {
    userId,
    browser,
    /** The pseudonym their history, cache entries and price tokens are kept under. */
    userHash: who.userHash,
    /** The query a shop's server sends for them: the user id with its signature. */
    signedQuery: `user_id=${encodeURIComponent(userId)}&user_sig=${signature}`,
  };
}

function event(
  run: string,
  index: number,
  ids: Pick<StoredEvent, 'anonymousId' | 'userId'>,
  name: string,
  productIds: string[],
): StoredEvent {
  return {
    type: 'track',
    event: name,
    messageId: `${run}-${index}`,
    ...ids,
    timestamp: new Date(Date.now() - 60_000 + index).toISOString(),
    receivedAt: new Date().toISOString(),
    site: SITE,
    bucket: 'treatment',
    model_version: null,
    properties: { run, products: productIds.map((product_id) => ({ product_id })) },
  };
}

/** The customer's history, recorded by the consumer as their logged-in events. */
async function withHistory(who: Awaited<ReturnType<typeof customer>>): Promise<void> {
  const run = runId();
  const ids = { anonymousId: who.browser.id, userId: who.userId };
  const result = await consume([
    event(run, 1, ids, 'Product Viewed', [productId(3)]),
    event(run, 2, ids, 'Product Viewed', [productId(7)]),
    event(run, 3, ids, 'Order Completed', [productId(11)]),
  ]);
  expect(result.explicitAcks).toHaveLength(3);
  expect(await directRedis().llen(activityKey(SITE, who.userHash))).toBe(3);
}

async function activityProducts(hash: string): Promise<string[]> {
  const raw = await directRedis().lrange(activityKey(SITE, hash), 0, -1);
  return raw.map((entry) => (JSON.parse(String(entry)) as { product_id: string }).product_id);
}

beforeAll(async () => {
  expect((await publish('v1', 'fixture-v1')).status).toBe(200);
}, 120_000);

describe('a user id sent as an anonymous id (rx_uid) is someone else', () => {
  it('identifyShopper: the rx_uid cookie or x-rx-uid header equal to a user id never gets that user’s pseudonym', async () => {
    const victim = await customer();
    const asAnonymous: Array<Record<string, string>> = [
      { cookie: `rx_uid=${victim.userId}` },
      { 'x-rx-uid': victim.userId },
    ];
    for (const headers of asAnonymous) {
      const attacker = await identifyShopper(new Request('https://rx.test/', { headers }), edgeEnv());
      expect(attacker.anonymousId).toBe(victim.userId);
      expect(attacker.userHash).not.toBe(victim.userHash);
      expect(attacker.anonymousHash).not.toBe(victim.userHash);
    }
    // The same UUID as the user id of a logged-in shopper and as an anonymous id: two pseudonyms.
    const both = await identifyShopper(
      new Request('https://rx.test/', { headers: { cookie: `rx_uid=${victim.userId}` } }),
      edgeEnv(),
      { userId: victim.userId },
    );
    expect(both.userHash).toBe(victim.userHash);
    expect(both.anonymousHash).not.toBe(both.userHash);
  });

  it('cannot read the cached list or the history of the customer, even with signed user ids on', async () => {
    const victim = await customer();
    await withHistory(victim);
    const query = 'placement=home&limit=4';
    // The shop's server asks for the customer (signed, no browser): computed, then cached.
    const own = await recommend(`${query}&${victim.signedQuery}`, {}, SIGNED);
    expect(own.response.status).toBe(200);
    expect(own.body.cached).toBe(false);
    expect((await recommend(`${query}&${victim.signedQuery}`, {}, SIGNED)).body.cached).toBe(true);

    // Claiming the user id without its signature is refused...
    const unsigned = await recommend(`${query}&user_id=${encodeURIComponent(victim.userId)}`, {}, SIGNED);
    expect(unsigned.response.status).toBe(403);

    // ...and the same UUID as an rx_uid is only a returning anonymous shopper without history, like
    // any other: not the customer's cached list, not a list from the customer's history.
    const stranger = await recommend(query, { cookie: (await newShopper()).cookie }, SIGNED);
    const attacker = await recommend(query, { cookie: `rx_uid=${victim.userId}` }, SIGNED);
    expect(attacker.response.status).toBe(200);
    expect(attacker.body.cached).toBe(false);
    expect(attacker.body.source).toBe(stranger.body.source);
    expect(attacker.body.items).toEqual(stranger.body.items);
    // A query the customer never asked (nothing cached): the history is not read either.
    const other = 'placement=home&limit=5';
    const strangerOther = await recommend(other, { 'x-rx-uid': (await newShopper()).id }, SIGNED);
    const attackerOther = await recommend(other, { 'x-rx-uid': victim.userId }, SIGNED);
    expect(attackerOther.body.source).toBe(strangerOther.body.source);
    expect(attackerOther.body.items).toEqual(strangerOther.body.items);
  });

  it("cannot add to the customer's recent activity through events with anonymousId = their user id", async () => {
    const victim = await customer();
    await withHistory(victim);
    const before = await activityProducts(victim.userHash);
    const run = runId();
    const result = await consume([
      event(run, 1, { anonymousId: victim.userId }, 'Product Viewed', [productId(20)]),
      event(run, 2, { anonymousId: victim.userId }, 'Product Added', [productId(21)]),
    ]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(await activityProducts(victim.userHash)).toEqual(before);
    // The events count for the anonymous shopper who sent them, as anyone's do.
    const sender = await identifyShopper(
      new Request('https://rx.test/', { headers: { cookie: `rx_uid=${victim.userId}` } }),
      edgeEnv(),
    );
    expect(await activityProducts(sender.anonymousHash)).toEqual([productId(21), productId(20)]);
  });

  it("does not have the customer's price tokens verified for them", async () => {
    const victim = await customer();
    const quoted = await call(
      `/v1/prices?product_ids=${productId(2)}&${victim.signedQuery}`,
      { headers: { cookie: victim.browser.cookie } },
      SIGNED,
    );
    expect(quoted.status).toBe(200);
    const token = ((await quoted.json()) as { prices: Array<{ token: string }> }).prices[0]?.token;
    if (!token) throw new Error('no price token');

    const verify = async (body: Record<string, string>, headers: Record<string, string> = {}) => {
      const response = await call(
        '/v1/prices/verify',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ tokens: [token], ...body }),
        },
        SIGNED,
      );
      expect(response.status).toBe(200);
      return ((await response.json()) as { results: Array<{ valid: boolean; reason?: string }> }).results[0];
    };
    // The customer's checkout: the shop's server names the user with the id's signature, or their
    // browser asks with the signature the shop's page holds.
    const userSig = await signUserId(SIGNED.USER_ID_SECRET, victim.userId);
    expect(await verify({ user_id: victim.userId, user_sig: userSig })).toMatchObject({ valid: true });
    expect(
      await verify(
        {},
        {
          cookie: victim.browser.cookie,
          'x-rx-user-id': encodeURIComponent(victim.userId),
          'x-rx-user-sig': userSig,
        },
      ),
    ).toMatchObject({ valid: true });
    // Unsigned, the body's user id is refused like a query's: a token in the page is no oracle of whose it is.
    const unsigned = await call(
      '/v1/prices/verify',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tokens: [token], user_id: victim.userId }),
      },
      SIGNED,
    );
    expect(unsigned.status).toBe(403);
    // The user id passed off as an anonymous id, by cookie, header or body: someone else.
    expect(await verify({}, { cookie: `rx_uid=${victim.userId}` })).toMatchObject({
      valid: false,
      reason: 'other_user',
    });
    expect(await verify({}, { 'x-rx-uid': victim.userId })).toMatchObject({
      valid: false,
      reason: 'other_user',
    });
    expect(await verify({ anonymous_id: victim.userId })).toMatchObject({
      valid: false,
      reason: 'other_user',
    });
  });
});
