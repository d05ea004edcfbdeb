/**
 * The worker's product-family cap on a row of recommendations (worker/src/recommend/compute.ts), here so
 * that the trainer's `eval` and `recommend` build their lists as the worker serves them.
 */
import type { CatalogueItem } from './manifest';

/** A candidate: catalogue index and score, best first. */
export interface Candidate {
  index: number;
  score: number;
}

/** At most this share of a row may come from one product family (the catalogue's `category`). */
const FAMILY_SHARE = 0.4;

/** The per-family cap for a row of `limit` items: 4 → 2, 10 → 4, never below 1. */
export function familyCap(limit: number): number {
  return Math.max(1, Math.ceil(limit * FAMILY_SHARE));
}

/**
 * Picks `limit` candidates in order, skipping a family once it has `cap` items so one family does not
 * fill the row; if that leaves the row short, the skipped ones fill it in their original order
 * (a short catalogue beats an empty slot).
 */
export function diversify(
  candidates: Iterable<Candidate>,
  items: ReadonlyArray<Pick<CatalogueItem, 'category'>>,
  limit: number,
  cap = familyCap(limit),
): Candidate[] {
  const picked: Candidate[] = [];
  const skipped: Candidate[] = [];
  const perFamily = new Map<string, number>();
  for (const candidate of candidates) {
    if (picked.length >= limit) break;
    const family = items[candidate.index]?.category ?? '';
    const count = perFamily.get(family) ?? 0;
    if (count >= cap) {
      skipped.push(candidate);
      continue;
    }
    perFamily.set(family, count + 1);
    picked.push(candidate);
  }
  for (const candidate of skipped) {
    if (picked.length >= limit) break;
    picked.push(candidate);
  }
  return picked;
}
