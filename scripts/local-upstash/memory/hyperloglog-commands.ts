import { RedisCommandError } from '../backend.ts';
import type { CommandTable } from './command-spec.ts';
import type { Keyspace } from './keyspace.ts';

/**
 * PFADD and PFCOUNT, for the worker's event consumer. A HyperLogLog is kept as the set of its distinct
 * elements, so counts are exact where Redis estimates; up to a few dozen elements Redis's estimate is
 * exact in practice, which is what the cross-check against redis-server relies on.
 */

/** Redis's answer when PFADD or PFCOUNT meets a plain string, which has no HLL header. */
const NOT_AN_HLL = 'WRONGTYPE Key is not a valid HyperLogLog string value.';

/**
 * The elements of the HyperLogLog at `key`, or undefined when it is missing. A plain string gets
 * Redis's HLL-specific error, any other type the usual WRONGTYPE (as `read` throws).
 */
function readHll(keyspace: Keyspace, key: string): Set<string> | undefined {
  if (keyspace.typeOf(key) === 'string') throw new RedisCommandError(NOT_AN_HLL);
  return keyspace.read(key, 'hll');
}

/** 1 when the key was created or its cardinality grew, as Redis's PFADD; `elements` may be empty. */
function pfadd(keyspace: Keyspace, key: string, elements: readonly string[]): number {
  const existing = readHll(keyspace, key);
  const hll = existing ?? keyspace.readOrCreate(key, 'hll', () => new Set());
  const before = hll.size;
  for (const element of elements) hll.add(element);
  return existing === undefined || hll.size > before ? 1 : 0;
}

/** The size of the union of the keys' elements; missing keys add nothing. Every key is type-checked. */
function pfcount(keyspace: Keyspace, keys: readonly string[]): number {
  const hlls = keys.map((key) => readHll(keyspace, key));
  // One key, the usual call, needs no copy of its elements.
  if (hlls.length === 1) return hlls[0]?.size ?? 0;
  const union = new Set<string>();
  for (const hll of hlls) for (const element of hll ?? []) union.add(element);
  return union.size;
}

export const hyperLogLogCommands: CommandTable = {
  PFADD: { arity: -2, run: ([key = '', ...elements], keyspace) => pfadd(keyspace, key, elements) },
  PFCOUNT: { arity: -2, run: (keys, keyspace) => pfcount(keyspace, keys) },
};
