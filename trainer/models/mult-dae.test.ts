import { describe, expect, it } from 'vitest';
import { aggregate } from '../data/matrix';
import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';
import { initBackend } from '../tfjs/backend';
import { trainMultDae } from './mult-dae';
import { scoredUsers, splitValidation } from './validation';

/** `users` shoppers with `perUser` distinct items each, from a catalogue of `items`. */
function interactions(users: number, perUser: number, items: number): Interaction[] {
  const out: Interaction[] = [];
  for (let u = 0; u < users; u++) {
    for (let j = 0; j < perUser; j++) {
      out.push({
        user: `u${u}`,
        item: `i${(u * 3 + j) % items}`,
        time: u * 100 + j,
        weight: 1,
        purchase: true,
        quantity: 1,
        basket: `b${u}`,
      });
    }
  }
  return out;
}

describe('Mult-DAE training', () => {
  it('without validation users (nobody with 5+ items) trains every epoch and keeps the last', async () => {
    await initBackend();
    const { matrix } = aggregate(interactions(40, 3, 12));
    const result = await trainMultDae(matrix, { epochs: 4, hidden: 4, patience: 1, seed: 7 });
    // It used to keep epoch 1 (nDCG 0 is "no better" than 0) and stop at epoch 2.
    expect(result.epochs).toHaveLength(4);
    expect(result.bestEpoch).toBe(4);
  });

  it('without a validation user that had an item held out, trains every epoch and keeps the last', async () => {
    await initBackend();
    // 10 shoppers with 5 items each: seed 42 makes one validation user and holds out none of its items.
    const { matrix } = aggregate(interactions(10, 5, 12));
    const { validation } = splitValidation(matrix, 0.1, seededRandom(42));
    expect([validation.foldIn.rows, scoredUsers(validation)]).toEqual([1, 0]);
    const lines: string[] = [];
    const result = await trainMultDae(matrix, {
      epochs: 3,
      hidden: 4,
      patience: 1,
      seed: 42,
      log: (line) => lines.push(line),
    });
    // Every epoch scored 0 on nobody: epoch 1 stayed "best" and its barely trained weights shipped.
    expect(result.epochs).toHaveLength(3);
    expect(result.bestEpoch).toBe(3);
    expect(lines.join('\n')).toMatch(/no validation users .*training all 3 epochs, keeping the last/);
  });

  it('validates on a catalogue of fewer than 10 products (a top-10 of 8 ranks all 8)', async () => {
    await initBackend();
    // 8 products, 6 each: validation users exist, and tf.topk(…, 10) refused an axis of 8.
    const { matrix } = aggregate(interactions(60, 6, 8));
    const result = await trainMultDae(matrix, { epochs: 2, hidden: 4, seed: 7 });
    expect(result.epochs).toHaveLength(2);
    expect(result.epochs.every((epoch) => epoch.validationNdcg > 0)).toBe(true);
  });
});
