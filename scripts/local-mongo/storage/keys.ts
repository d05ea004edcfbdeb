import { EJSON, ObjectId } from 'bson';
import { isPlainDoc } from '../types.ts';

/**
 * A string that is equal for two values exactly when MongoDB would treat them as the same key
 * (for `_id` and unique indexes). Strings and numbers, by far the common `_id`s, skip EJSON.
 */
export function canonicalKey(value: unknown): string {
  if (typeof value === 'string') return `s${value}`;
  if (typeof value === 'number') return `n${String(value)}`; // String(-0) is '0', as MongoDB compares them
  if (value === null || value === undefined) return 'z';
  return `j${EJSON.stringify(value, { relaxed: false })}`;
}

/**
 * Every value at a dotted path, expanding arrays as MongoDB's multikey indexes do.
 * A missing field yields `null`, which is how a unique index sees it.
 */
export function valuesAtPath(value: unknown, parts: readonly string[]): unknown[] {
  if (parts.length === 0) {
    if (Array.isArray(value)) return value.length > 0 ? value : [null];
    return [value === undefined ? null : value];
  }
  const [head, ...rest] = parts as [string, ...string[]];
  if (Array.isArray(value)) {
    if (/^\d+$/.test(head)) return valuesAtPath(value[Number(head)], rest);
    return value.length > 0 ? value.flatMap((element) => valuesAtPath(element, parts)) : [null];
  }
  if (isPlainDoc(value)) return valuesAtPath(value[head], rest);
  return [null];
}

/** Whether a dotted path resolves to something present (for sparse indexes). */
export function hasPath(value: unknown, parts: readonly string[]): boolean {
  if (parts.length === 0) return value !== undefined;
  const [head, ...rest] = parts as [string, ...string[]];
  if (Array.isArray(value)) return value.some((element) => hasPath(element, parts));
  if (isPlainDoc(value)) return hasPath(value[head], rest);
  return false;
}

/**
 * Renders a key value the way MongoDB's E11000 message does: `{ _id: "abc" }`,
 * `{ _id: ObjectId('...') }`, `{ a: 1, b: null }`.
 */
export function formatDupKey(keyValue: Record<string, unknown>): string {
  const parts = Object.entries(keyValue).map(([field, value]) => `${field}: ${formatValue(value)}`);
  return `{ ${parts.join(', ')} }`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  return EJSON.stringify(value, { relaxed: true });
}
