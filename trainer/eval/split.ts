/** Train/test splits of the evaluation protocols. */

import type { Interaction } from '../data/types';
import { seededRandom, shuffle } from '../math/random';

/** A split: training interactions and the test interactions to predict. */
export interface Split {
  train: Interaction[];
  test: Interaction[];
  description: string;
}

/**
 * Microsoft Recommenders `python_stratified_split(ratio=0.75)`: for each user, their interactions in
 * random order, the first round(0.75·n) to train and the rest to test, so every user is in both.
 */
export function stratifiedSplit(interactions: Interaction[], ratio = 0.75, seed = 42): Split {
  const byUser = new Map<string, Interaction[]>();
  for (const it of interactions) {
    const list = byUser.get(it.user) ?? [];
    list.push(it);
    byUser.set(it.user, list);
  }
  const random = seededRandom(seed);
  const train: Interaction[] = [];
  const test: Interaction[] = [];
  for (const list of byUser.values()) {
    shuffle(list, random);
    const cut = Math.round(ratio * list.length);
    train.push(...list.slice(0, cut));
    test.push(...list.slice(cut));
  }
  return {
    train,
    test,
    description: `per-user stratified random split ${ratio * 100}/${Math.round((1 - ratio) * 100)} (seed ${seed})`,
  };
}

/** The day (UTC midnight) by which `share` of the interactions happened: a default temporal cut-off. */
export function quantileCutoff(interactions: Interaction[], share = 0.9): number {
  const times = interactions.map((it) => it.time).sort((a, b) => a - b);
  const t = times[Math.min(times.length - 1, Math.floor(share * times.length))] ?? 0;
  return Math.floor(t / 86_400_000) * 86_400_000;
}

/**
 * Temporal split: train on everything before `cutoff`, test on purchases from `cutoff` on. Test rows
 * of customers or items absent from training are counted and left out (no model trained on that
 * window can know them; popularity serves new customers in production).
 */
export function temporalSplit(
  interactions: Interaction[],
  cutoff: number,
): Split & { newUsers: number; newItemRows: number } {
  const train = interactions.filter((it) => it.time < cutoff);
  const users = new Set(train.map((it) => it.user));
  const items = new Set(train.map((it) => it.item));
  const after = interactions.filter((it) => it.time >= cutoff && it.purchase);
  const newUsers = new Set(after.filter((it) => !users.has(it.user)).map((it) => it.user)).size;
  const newItemRows = after.filter((it) => users.has(it.user) && !items.has(it.item)).length;
  const test = after.filter((it) => users.has(it.user) && items.has(it.item));
  const day = new Date(cutoff).toISOString().slice(0, 10);
  return {
    train,
    test,
    newUsers,
    newItemRows,
    description: `temporal: train before ${day}, test purchases from ${day} (${newUsers} new customers and ${newItemRows} purchases of new items left out)`,
  };
}
