/**
 * itemFamilies gives the families a proxy slot's cut is made from (contracts/diversify.ts
 * diversifiedCut): one per item, in order, or none at all. A list with an item the catalogue does not
 * have gets none, so the slot is fetched for its own limit; families that skipped the item would be
 * one short and shifted, and the cut would pick the wrong items.
 */
import { describe, expect, it } from 'vitest';
import { itemFamilies } from '../../worker/src/recommend/families';

const catalogue = {
  items: [{ category: 'mugs' }, { category: 'bags' }],
  byId: new Map([
    ['M1', 0],
    ['B1', 1],
  ]),
} as unknown as Parameters<typeof itemFamilies>[0];

describe('itemFamilies', () => {
  it("names each item's family in order, and none for a list with an item outside the catalogue", () => {
    expect(itemFamilies(catalogue, [{ product_id: 'B1' }, { product_id: 'M1' }])).toEqual(['bags', 'mugs']);
    expect(
      itemFamilies(catalogue, [{ product_id: 'B1' }, { product_id: 'GONE' }, { product_id: 'M1' }]),
    ).toBe(undefined);
  });
});
