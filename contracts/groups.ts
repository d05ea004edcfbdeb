/**
 * Consecutive groups of at most `maxCount` items whose sizes add up to at most `maxSize` (a single
 * item larger than that gets a group of its own): how the plugin's event batches and price requests,
 * the worker's queue sends and replay-dlq's publishes are split.
 */
export function groups<T>(
  items: readonly T[],
  maxCount: number,
  maxSize: number,
  sizeOf: (item: T) => number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = sizeOf(item);
    if (current.length === maxCount || (current.length > 0 && size + itemSize > maxSize)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemSize;
  }
  if (current.length > 0) out.push(current);
  return out;
}
