import { describe, expect, it } from 'vitest';
import { anonymousPseudonyms } from '../../bench/support/seed-pseudonym';
import { userHash } from '../../worker/src/shopper/user-hash';

// The api benchmark seeds shoppers' activity under keys it computes itself; were its pseudonym to drift
// from the worker's, its full-history row would read no history and measure a plain miss unnoticed.
describe("the api benchmark's pseudonyms", () => {
  it("are the worker's userHash of an anonymous shopper, for any key, site and id", async () => {
    for (const [key, site] of [
      ['bench-key', 'bench'],
      ['another secret, longer than a block of SHA-256 (64 bytes) ............', 'demo'],
    ] as const) {
      const pseudonym = await anonymousPseudonyms(key, site);
      for (const id of [crypto.randomUUID(), crypto.randomUUID()])
        expect(await pseudonym(id)).toBe(await userHash(key, site, { anonymousId: id }));
    }
    expect(await (await anonymousPseudonyms('k', 'bench'))(crypto.randomUUID())).toMatch(/^[0-9a-f]{32}$/);
  });
});
