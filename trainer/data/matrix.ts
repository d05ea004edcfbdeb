/**
 * Aggregation of interactions into a sparse user × item matrix (CSR) with implicit-feedback
 * confidences, plus the id ↔ index maps every model and the bundle share.
 */
import { type Interaction, isSignal } from './types';

/** A sparse rows × items matrix in compressed-sparse-row form. */
export interface SparseMatrix {
  rows: number;
  cols: number;
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float32Array;
}

/** Users, items and their interaction matrix. */
export interface InteractionMatrix {
  users: string[];
  items: string[];
  itemIndex: Map<string, number>;
  matrix: SparseMatrix;
}

/**
 * Repeats count, with diminishing returns: one interaction of weight w scores w, the tenth
 * purchase of the same item adds far less than the first (wholesale buyers repeat a lot).
 */
export function confidence(sum: number): number {
  return sum <= 1 ? sum : 1 + Math.log(sum);
}

/** Options of `aggregate`. */
export interface AggregateOptions {
  /** Row key: the user (default) or the basket (for "bought together"). */
  by?: 'user' | 'basket';
  /** Fixed item order (e.g. a catalogue); interactions with other items are ignored. */
  items?: string[];
  /** Recency half-life in days relative to `now`; undefined = no decay. */
  halfLifeDays?: number;
  now?: number;
}

/** Aggregates interactions (summing weights per row × item) into a CSR matrix; a removal is none (isSignal). */
export function aggregate(
  interactions: Iterable<Interaction>,
  options: AggregateOptions = {},
): InteractionMatrix {
  const by = options.by ?? 'user';
  const fixedItems = options.items;
  const itemIndex = new Map<string, number>((fixedItems ?? []).map((id, i) => [id, i]));
  const items = fixedItems ? [...fixedItems] : [];
  const rowIndex = new Map<string, number>();
  const rows: Array<Map<number, number>> = [];
  const decayPerMs = options.halfLifeDays ? Math.LN2 / (options.halfLifeDays * 86_400_000) : 0;
  const now = options.now ?? 0;
  for (const it of interactions) {
    const key = by === 'user' ? it.user : it.basket;
    if (key === undefined || !isSignal(it)) continue;
    let col = itemIndex.get(it.item);
    if (col === undefined) {
      if (fixedItems) continue;
      col = items.length;
      items.push(it.item);
      itemIndex.set(it.item, col);
    }
    let r = rowIndex.get(key);
    if (r === undefined) {
      r = rows.length;
      rowIndex.set(key, r);
      rows.push(new Map());
    }
    const decay = decayPerMs > 0 ? Math.exp(-decayPerMs * Math.max(0, now - it.time)) : 1;
    const row = rows[r] as Map<number, number>;
    row.set(col, (row.get(col) ?? 0) + it.weight * decay);
  }
  return { users: [...rowIndex.keys()], items, itemIndex, matrix: toCsr(rows, items.length) };
}

/**
 * A CSR matrix from one map of column → summed weight per row; `value` turns a sum into the stored
 * value (the damped `confidence` for interaction matrices).
 */
export function toCsr(
  rows: Array<Map<number, number>>,
  cols: number,
  value: (sum: number) => number = confidence,
): SparseMatrix {
  const nnz = rows.reduce((n, row) => n + row.size, 0);
  const rowPtr = new Int32Array(rows.length + 1);
  const colIdx = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let p = 0;
  rows.forEach((row, r) => {
    for (const [c, sum] of [...row.entries()].sort((a, b) => a[0] - b[0])) {
      colIdx[p] = c;
      values[p] = value(sum);
      p += 1;
    }
    rowPtr[r + 1] = p;
  });
  return { rows: rows.length, cols, rowPtr, colIdx, values };
}

/** Calls `fn(col, value)` for each stored entry of row `r`. */
export function forEachInRow(m: SparseMatrix, r: number, fn: (col: number, value: number) => void): void {
  const end = m.rowPtr[r + 1] ?? 0;
  for (let p = m.rowPtr[r] ?? 0; p < end; p++) fn(m.colIdx[p] ?? 0, m.values[p] ?? 0);
}

/**
 * Whether row `r` has a non-zero value: a shopper with some history. Without one the worker runs no
 * model (compute.ts `plan`) and serves best sellers; eval and recommend do the same.
 */
export function rowHasValues(m: SparseMatrix, r: number): boolean {
  const end = m.rowPtr[r + 1] ?? 0;
  for (let p = m.rowPtr[r] ?? 0; p < end; p++) if ((m.values[p] ?? 0) !== 0) return true;
  return false;
}

/** Row `r` as a dense vector of length `cols`. */
export function denseRow(m: SparseMatrix, r: number, out = new Float32Array(m.cols)): Float32Array {
  out.fill(0);
  forEachInRow(m, r, (c, v) => {
    out[c] = v;
  });
  return out;
}
