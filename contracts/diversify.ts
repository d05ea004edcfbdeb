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

/**
 * The row `diversify` makes for `limit` items, cut from a row it made of the same candidates for
 * `longerLimit` (at least `limit`) items: the positions in `families` (the longer row's items'
 * families, in order) of the items to show, in order. Undefined when the longer row cannot tell.
 *
 * It can when the shorter row's own picks (the first `familyCap(limit)` of each family, in order) fill
 * it from the longer row: that row kept the first `familyCap(longerLimit)` of each family in order,
 * so it holds every such pick that comes before its end, and those that come first are the same. It
 * can also when the longer row holds every candidate (shorter than its limit, no family over its cap:
 * nothing was skipped), and when it is all one family (a category slot's: the candidates' first items,
 * whatever the cap). Otherwise (a row the family cap could not fill, a catalogue of few families)
 * the shorter row's padding may lie beyond the longer row, or come in another order.
 *
 * Proxy mode cuts a slot's row from the page's longer one with it, so a slot shows what
 * `GET /v1/recommendations` answers for its own limit.
 */
export function diversifiedCut(
  families: readonly string[],
  longerLimit: number,
  limit: number,
): number[] | undefined {
  if (limit > longerLimit) return undefined;
  const cap = familyCap(limit);
  const picked: number[] = [];
  const perFamily = new Map<string, number>();
  for (const [index, family] of families.entries()) {
    if (picked.length >= limit) break;
    const count = perFamily.get(family) ?? 0;
    if (count < cap) picked.push(index);
    perFamily.set(family, count + 1);
  }
  if (picked.length >= limit) return picked;
  const longerCap = familyCap(longerLimit);
  const holdsEveryCandidate =
    families.length < longerLimit && [...perFamily.values()].every((count) => count <= longerCap);
  if (!holdsEveryCandidate && perFamily.size > 1) return undefined;
  const rows = families.map((category) => ({ category }));
  const positions = families.map((_, index) => ({ index, score: 0 }));
  return diversify(positions, rows, limit).map((candidate) => candidate.index);
}
