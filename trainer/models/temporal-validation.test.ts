import { describe, expect, it } from 'vitest';
import { forEachInRow } from '../data/matrix';
import type { Interaction } from '../data/types';
import { asValidationSplit, temporalValidation, temporalValidationNdcg } from './temporal-validation';

const DAY = 86_400_000;
const row = (user: string, item: string, day: number, purchase = true): Interaction => ({
  user,
  item,
  time: day * DAY + 3_600_000,
  weight: 1,
  purchase,
  quantity: purchase ? 1 : 0,
});

/** Day d: customer c{d % 5} buys item i{d % 7}; 100 days, one interaction a day. */
const daily = (): Interaction[] => Array.from({ length: 100 }, (_, d) => row(`c${d % 5}`, `i${d % 7}`, d));

describe('temporal validation', () => {
  it('fits on what came before the cut-off (the day by which 90 % happened) and scores only what came after', () => {
    const rows = daily();
    const items = ['i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6', 'i7'];
    const v = temporalValidation(rows, items);
    // 90 interactions of 100 before day 90: the cut-off is day 90's midnight.
    expect(v.cutoff).toBe(90 * DAY);
    expect(v.interactions).toHaveLength(90);
    expect(v.interactions.every((it) => it.time < v.cutoff)).toBe(true);
    // The fit matrix keeps the bundle's item order (i7 never bought: a column all the same).
    expect(v.fit.items).toEqual(items);
    // No entry of the fit comes from on or after the cut-off: each stored entry has an earlier interaction.
    const before = new Set(v.interactions.map((it) => `${it.user}|${it.item}`));
    for (let r = 0; r < v.fit.matrix.rows; r++)
      forEachInRow(v.fit.matrix, r, (c) => {
        expect(before.has(`${v.fit.users[r]}|${v.fit.items[c]}`)).toBe(true);
      });
    // Relevant: purchases from the cut-off on of items new to the customer; none of them in the fit.
    const after = rows.filter((it) => it.time >= v.cutoff);
    for (const [r, rel] of v.relevant) {
      const user = v.fit.users[r] ?? '';
      for (const c of rel.items) {
        const item = v.fit.items[c] ?? '';
        expect(after.some((it) => it.user === user && it.item === item)).toBe(true);
        expect(before.has(`${user}|${item}`)).toBe(false);
      }
    }
    expect(v.users).toBe(v.relevant.size);
    // Popularity (the list fill and EASE's scale) counts the fit's customers only.
    const popular = Array.from(v.popularity);
    expect(popular.reduce((a, b) => a + b, 0)).toBe(v.fit.matrix.values.length);
  });

  it("leaves a future purchase of an item the customer had before out, and a new customer's", () => {
    const rows = [
      ...Array.from({ length: 18 }, (_, d) => row('old', `i${d % 3}`, d)),
      // Someone else bought i5 and i6 before: items the fit knows (purchases of unknown items are left out).
      row('other', 'i5', 5),
      row('other', 'i6', 6),
      row('old', 'i0', 30),
      row('old', 'i5', 30),
      row('new', 'i1', 30),
      row('old', 'i6', 30, false),
    ];
    const v = temporalValidation(rows, ['i0', 'i1', 'i2', 'i5', 'i6']);
    expect(v.cutoff).toBe(30 * DAY);
    expect(v.interactions).toHaveLength(20);
    expect(v.users).toBe(1);
    const rel = [...v.relevant.values()][0];
    // i5 only: i0 was bought before, i6 only viewed; 'new' has no history to rank from.
    expect([...(rel?.items ?? [])].map((c) => v.fit.items[c])).toEqual(['i5']);
  });

  it('cuts at the exact moment when the data spans less than a day, so that something is fitted', () => {
    const rows = Array.from({ length: 20 }, (_, n) => ({ ...row(`c${n % 4}`, `i${n % 6}`, 0), time: n }));
    const v = temporalValidation(rows, ['i0', 'i1', 'i2', 'i3', 'i4', 'i5']);
    expect(v.cutoff).toBe(18);
    expect(v.interactions).toHaveLength(18);
    // A removal from the cart the day before is nothing to fit: the cut is the same moment.
    const removal: Interaction = { ...row('c0', 'i0', -1, false), weight: 0, activity: 'removed' };
    expect(temporalValidation([removal, ...rows], ['i0', 'i1', 'i2', 'i3', 'i4', 'i5']).cutoff).toBe(18);
  });

  it('gives the Mult-DAE the same customers: fold-in = their rows before the cut-off, held out = what they bought new', () => {
    const v = temporalValidation(daily(), ['i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6']);
    const split = asValidationSplit(v);
    // Every customer's past trains (no future in it); the scored ones are validated on their next purchases.
    expect(split.train).toEqual(Array.from({ length: v.fit.matrix.rows }, (_, r) => r));
    const rows = [...v.relevant.keys()];
    expect(split.validation.foldIn.rows).toBe(rows.length);
    rows.forEach((r, i) => {
      const fold: number[] = [];
      forEachInRow(split.validation.foldIn, i, (c) => fold.push(c));
      const past: number[] = [];
      forEachInRow(v.fit.matrix, r, (c) => past.push(c));
      expect(fold).toEqual(past);
      expect(split.validation.heldOut[i]).toEqual(v.relevant.get(r)?.items);
    });
  });

  it('scores the lists the worker serves: a viewed item stays in, purchases and the cart are left out', async () => {
    // c0..c7 bought P1 (the best seller), c0 P2 too; s viewed P0, put P2 in the cart, and after the
    // cut-off bought P1.
    const rows: Interaction[] = Array.from({ length: 8 }, (_, c) => row(`c${c}`, 'P1', c));
    rows.push(row('c0', 'P2', 1));
    rows.push({ ...row('s', 'P0', 8, false), activity: 'view' });
    rows.push({ ...row('s', 'P2', 9, false), weight: 3, activity: 'cart' });
    rows.push(row('s', 'P1', 20));
    rows.sort((a, b) => a.time - b.time);
    const v = temporalValidation(rows, ['P0', 'P1', 'P2'], 0.95);
    expect(v.cutoff).toBe(20 * DAY);
    expect(v.users).toBe(1);
    // A model that scores the history itself (as a Mult-DAE, reconstructing its input, does): the
    // worker masks the cart's P2 but shows the viewed P0 first, then fills with the best seller P1, a
    // hit at rank 2. Masking the whole history, as before, scored a list the worker never shows (P1
    // first: 1.0).
    const identity = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const ndcg = await temporalValidationNdcg('identity', { kind: 'dense', matrix: identity }, v);
    expect(ndcg).toBeCloseTo(1 / Math.log2(3), 6);
    // The Mult-DAE's early stopping leaves out the same items.
    const split = asValidationSplit(v);
    const excluded: number[] = [];
    if (split.validation.excluded) forEachInRow(split.validation.excluded, 0, (c) => excluded.push(c));
    expect(excluded).toEqual([2]);
  });
});
