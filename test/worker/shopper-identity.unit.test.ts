/**
 * identifyShopper's choices between the ids a request may carry, the holdout digest's inputs and the
 * signature forms taken (found by a mutation audit: the route tests send one id at a time, lowercase
 * signatures and one site).
 */
import { describe, expect, it } from 'vitest';
import { holdoutBucket, identifyShopper } from '../../worker/src/shopper';
import { signUserId, userSignatureValid } from '../../worker/src/shopper/user-signature';

const env = {
  SITE_ID: 'identity-test',
  HOLDOUT_PERCENT: '0',
  USER_HASH_KEY: 'identity-test-key-0123456789abcdef',
};
const cookieId = '6f1c1d2e-3a4b-4c5d-8e6f-708192a3b4c5';
const headerId = '0a1b2c3d-4e5f-4a6b-9c7d-8e9fa0b1c2d3';
const request = (headers: Record<string, string>) => new Request('https://shop.test/', { headers });

describe('identifyShopper', () => {
  it('takes the rx_uid cookie over the x-rx-uid header, and then ignores x-rx-uid-new', async () => {
    const shopper = await identifyShopper(
      request({ cookie: `rx_uid=${cookieId}`, 'x-rx-uid': headerId, 'x-rx-uid-new': '1' }),
      env,
    );
    expect(shopper).toMatchObject({ anonymousId: cookieId, isNew: false, firstVisit: false });
  });

  it('skips an rx_uid cookie that is not an id it could have issued, for a valid one beside it or a new id', async () => {
    const beside = await identifyShopper(request({ cookie: `rx_uid=forged; rx_uid=${cookieId}` }), env);
    expect(beside).toMatchObject({ anonymousId: cookieId, isNew: false });
    const alone = await identifyShopper(request({ cookie: 'rx_uid=forged' }), env);
    expect(alone.isNew).toBe(true);
    expect(alone.anonymousId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('holdoutBucket', () => {
  it('depends on the site: two shops put the same browsers in independent arms', async () => {
    const ids = Array.from(
      { length: 200 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const here = await Promise.all(ids.map((id) => holdoutBucket('shop-a', id, 50)));
    const there = await Promise.all(ids.map((id) => holdoutBucket('shop-b', id, 50)));
    const same = here.filter((bucket, i) => bucket === there[i]).length;
    // Independent arms agree about half the time; one digest for both sites agrees every time.
    expect(same).toBeGreaterThan(60);
    expect(same).toBeLessThan(140);
  });
});

describe('userSignatureValid', () => {
  it('takes the hex signature in capitals too (C# Convert.ToHexString, PHP strtoupper), and no other id', async () => {
    const signature = await signUserId('user-id-secret', 'customer-42');
    expect(await userSignatureValid('user-id-secret', 'customer-42', signature.toUpperCase())).toBe(true);
    expect(await userSignatureValid('user-id-secret', 'customer-43', signature.toUpperCase())).toBe(false);
  });
});
