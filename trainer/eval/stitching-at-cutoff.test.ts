/**
 * Identity stitching in `eval` and `train`'s validation: a split at a cut-off may stitch a browser to
 * its shopper only by a link seen before the cut-off. A sign-in after it is the future.
 */
import { describe, expect, it } from 'vitest';
import { eventsSource } from '../data/events';
import { anonymousUserKey } from '../data/identities';
import { readAll } from '../data/sources';
import { temporalValidation } from '../models/temporal-validation';
import { tempFile } from '../test-support/event-files';
import { runEvaluation } from './run-eval';

const day = (d: number, minute = 0) => new Date(Date.UTC(2026, 9, d, 10, minute)).toISOString();
const viewed = (ids: object, product: string, d: number, minute = 0) => ({
  type: 'track',
  event: 'Product Viewed',
  ...ids,
  timestamp: day(d, minute),
  properties: { product_id: product },
});
const ordered = (userId: string, product: string, d: number) => ({
  type: 'track',
  event: 'Order Completed',
  userId,
  timestamp: day(d),
  properties: { order_id: `${userId}-${product}-${d}`, products: [{ product_id: product, quantity: 1 }] },
});
const identify = (anonymousId: string, userId: string, d: number) => ({
  type: 'identify',
  anonymousId,
  userId,
  timestamp: day(d),
  traits: {},
});

/**
 * Two browsers that view P1 and P2 before the cut-off (day 20) and whose shoppers buy P3 after it:
 * `b-early` signs in as `early` before the cut-off, `b-late` as `late` after it. Signed-in customers
 * c0..c5 make the items known in training.
 */
function events(): object[] {
  const lines: object[] = [];
  for (let c = 0; c < 6; c++) {
    lines.push(ordered(`c${c}`, 'P1', 2 + c));
    lines.push(ordered(`c${c}`, c % 2 === 0 ? 'P2' : 'P3', 2 + c));
    // Re-orders after the cut-off: nothing new to them, so no test customers; they move the day by
    // which 60 % of the interactions happened to day 21 (train's validation cut-off below).
    lines.push(ordered(`c${c}`, 'P1', 21), ordered(`c${c}`, 'P1', 22));
  }
  for (const browser of ['b-early', 'b-late']) {
    lines.push(viewed({ anonymousId: browser }, 'P1', 10));
    lines.push(viewed({ anonymousId: browser }, 'P2', 10, 1));
  }
  lines.push(identify('b-early', 'early', 15));
  lines.push(identify('b-late', 'late', 25));
  lines.push(ordered('early', 'P3', 26));
  lines.push(ordered('late', 'P3', 26));
  return lines;
}

describe('identity stitching at a split cut-off', { timeout: 120_000 }, () => {
  it("eval scores a browser's shopper only when the sign-in came before the cut-off", async () => {
    const input = await tempFile(
      'events.jsonl',
      `${events()
        .map((e) => JSON.stringify(e))
        .join('\n')}\n`,
    );
    const lines: string[] = [];
    const result = await runEvaluation({
      format: 'events',
      input,
      cutoff: '2026-10-20',
      hidden: 4,
      epochs: 1,
      log: (line) => lines.push(line),
    });
    // Only `early` was known at the cut-off as the shopper of what b-early browsed; `late` was, then, a
    // new customer (left out), b-late's browsing an anonymous shopper's. Stitched with every link of the
    // input, b-late's browsing made `late` a known customer and scored.
    expect(result.data.testUsers).toBe(1);
    expect(lines.join('\n')).toMatch(/temporal: .*\(1 new customers/);
    expect(lines.join('\n')).toMatch(/links seen before it: 1 anonymous id\(s\) joined 1 shopper/);
  });

  it("train's validation stitches copies with the links known by its own cut-off", async () => {
    const input = await tempFile(
      'events.jsonl',
      `${events()
        .map((e) => JSON.stringify(e))
        .join('\n')}\n`,
    );
    const source = eventsSource(input);
    const all = await readAll(source);
    // Read as a whole, both browsers are their shoppers'.
    expect(new Set(all.filter((it) => it.anonymousId).map((it) => it.user))).toEqual(
      new Set(['early', 'late']),
    );
    const v = temporalValidation(all, ['P1', 'P2', 'P3'], 0.6, source.identities);
    expect(new Date(v.cutoff).toISOString()).toBe('2026-10-21T00:00:00.000Z');
    const users = new Set(v.interactions.map((it) => it.user));
    // b-early signed in on day 15, before the cut-off; b-late on day 25, after it.
    expect(users.has('early')).toBe(true);
    expect(users.has('late')).toBe(false);
    expect(users.has(anonymousUserKey('b-late'))).toBe(true);
    // So `late` is no customer to score: only `early` bought something new after the cut-off.
    expect(v.users).toBe(1);
    // Copies: what `train` ships from is still stitched with every link.
    expect(new Set(all.filter((it) => it.anonymousId).map((it) => it.user))).toEqual(
      new Set(['early', 'late']),
    );
  });
});
