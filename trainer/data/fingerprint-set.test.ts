import { describe, expect, it } from 'vitest';
import { FingerprintSet } from './fingerprint-set';

describe('FingerprintSet', () => {
  it('tells a string seen before from a new one, across growth, for ids that differ in one character', () => {
    const set = new FingerprintSet();
    const ids = Array.from(
      { length: 200_000 },
      (_, i) => `0b3c3f4e-1111-4222-8333-${String(i).padStart(12, '0')}`,
    );
    for (const id of ids) expect(set.add(id)).toBe(true);
    expect(set.size).toBe(ids.length);
    for (const id of ids.slice(0, 1000)) expect(set.add(id)).toBe(false);
    expect(set.add('')).toBe(true);
    expect(set.add('')).toBe(false);
    expect(set.add('é😀')).toBe(true);
    expect(set.size).toBe(ids.length + 2);
  });
});
