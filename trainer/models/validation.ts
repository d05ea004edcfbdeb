/**
 * The Mult-DAE's own validation split, for a caller that hands it none (`train` and `eval` hand it
 * the temporal one, temporal-validation.ts `asValidationSplit`): some users (10 %, at least 5 items
 * each, at most 2,000) are held out; 80 % of each one's items are the fold-in history given to the
 * model, the other 20 % are to be predicted (Liang et al. 2018's protocol).
 */
import { forEachInRow, type SparseMatrix } from '../data/matrix';
import { shuffle } from '../math/random';

/** Validation users: their fold-in histories and what they went on to have. */
export interface Validation {
  /** Held-out items per validation user (the rest is the fold-in history). */
  heldOut: Array<Set<number>>;
  /** Fold-in histories, one row per validation user. */
  foldIn: SparseMatrix;
  /**
   * What each validation user's list leaves out, rows as `foldIn`'s: the temporal validation's are
   * what the worker excludes (purchases, cart; eval/exclusions.ts); default the whole fold-in history.
   */
  excluded?: SparseMatrix;
}

/**
 * The validation users a score is computed on: those with a held-out item. Each user's items are
 * held out at random (20 % each), so a short history may hold none out, and there is then nothing to
 * predict; the Mult-DAE's epoch scores leave such users out.
 */
export function scoredUsers(validation: Validation): number {
  return validation.heldOut.filter((items) => items.size > 0).length;
}

/** Training users (row indices) and the validation users split off from them. */
export interface ValidationSplit {
  train: number[];
  validation: Validation;
}

/** Splits some users off for validation: 80 % of their items are input, 20 % to be predicted. */
export function splitValidation(x: SparseMatrix, share: number, random: () => number): ValidationSplit {
  const order = shuffle(
    Array.from({ length: x.rows }, (_, r) => r),
    random,
  );
  const eligible = order.filter((r) => (x.rowPtr[r + 1] ?? 0) - (x.rowPtr[r] ?? 0) >= 5);
  const count = Math.min(Math.round(x.rows * share), eligible.length, 2000);
  const rows = eligible.slice(0, count);
  const chosen = new Set(rows);
  const rowPtr = new Int32Array(rows.length + 1);
  const cols: number[] = [];
  const values: number[] = [];
  const heldOut = rows.map((r, i) => {
    const out = new Set<number>();
    forEachInRow(x, r, (c, v) => {
      if (random() < 0.2) out.add(c);
      else {
        cols.push(c);
        values.push(v);
      }
    });
    rowPtr[i + 1] = cols.length;
    return out;
  });
  const foldIn: SparseMatrix = {
    rows: rows.length,
    cols: x.cols,
    rowPtr,
    colIdx: Int32Array.from(cols),
    values: Float32Array.from(values),
  };
  return { train: order.filter((r) => !chosen.has(r)), validation: { heldOut, foldIn } };
}
