import type { Interaction } from '../data/types';
import { seededRandom } from '../math/random';

/**
 * Synthetic purchases for the trainer's tests: 4 taste groups over 40 items; `noise` is how often a
 * shopper buys outside their group. The same `seed` gives the same rows.
 */
export function tasteGroupShoppers(users: number, noise: number, seed: number): Interaction[] {
  const random = seededRandom(seed);
  const rows: Interaction[] = [];
  for (let u = 0; u < users; u++)
    for (let i = 0; i < 40; i++)
      if (random() < (i % 4 === u % 4 ? 0.5 : noise))
        rows.push({ user: `u${u}`, item: `i${i}`, time: 0, weight: 1, purchase: true, quantity: 1 });
  return rows;
}
