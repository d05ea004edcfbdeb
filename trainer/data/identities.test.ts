import { describe, expect, it } from 'vitest';
import { anonymousUserKey, IdentityLinks, stitchIdentities } from './identities';
import type { Interaction } from './types';

const viewedBy = (anonymousId: string, time: number): Interaction => ({
  user: anonymousUserKey(anonymousId),
  item: 'P1',
  time,
  weight: 1,
  purchase: false,
  quantity: 0,
  basket: `${anonymousUserKey(anonymousId)}:day`,
  anonymous: true,
  anonymousId,
});

describe('identity links known by a cut-off', () => {
  it('gives a browser to the one shopper linked before the cut-off, and attributes afresh each time', () => {
    const links = new IdentityLinks();
    links.link('tablet', 'carol', 100);
    links.link('tablet', 'dave', 300);
    links.link('tablet', 'carol', 50); // an earlier event of the same link: known from 50
    links.link('undated', 'erin'); // no timestamp: no cut-off can place it
    const rows = [viewedBy('tablet', 10), viewedBy('undated', 10)];
    // The whole input: the tablet had two shoppers (kept apart), the undated link counts.
    expect(stitchIdentities(rows, links)).toEqual({ merged: 1, users: 1, ambiguous: 1 });
    expect(rows.map((r) => [r.user, r.anonymous ?? false, r.basket])).toEqual([
      [anonymousUserKey('tablet'), true, `${anonymousUserKey('tablet')}:day`],
      ['erin', false, 'erin:day'],
    ]);
    // At 200 only carol had signed in on the tablet; the undated link is not known yet.
    expect(stitchIdentities(rows, links, undefined, 200)).toEqual({ merged: 1, users: 1, ambiguous: 0 });
    expect(rows.map((r) => [r.user, r.anonymous ?? false, r.basket])).toEqual([
      ['carol', false, 'carol:day'],
      [anonymousUserKey('undated'), true, `${anonymousUserKey('undated')}:day`],
    ]);
    // Before any sign-in, nobody's.
    expect(links.userFor('tablet', 50)).toBeUndefined();
    expect(links.userFor('tablet', 51)).toBe('carol');
  });
});
