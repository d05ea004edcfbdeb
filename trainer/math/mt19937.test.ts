import { describe, expect, it } from 'vitest';
import { NumpyRandomState } from './mt19937';

describe('NumpyRandomState', () => {
  it('reproduces np.random.seed(42); np.random.rand(5)', () => {
    const rs = new NumpyRandomState(42);
    const draws = Array.from({ length: 5 }, () => rs.nextDouble());
    // Values printed by NumPy (legacy RandomState) for seed 42.
    expect(draws).toEqual([
      0.3745401188473625, 0.9507143064099162, 0.7319939418114051, 0.5986584841970366, 0.15601864044243652,
    ]);
  });

  it('reproduces the reference MT19937 32-bit outputs (init_genrand(5489))', () => {
    const rs = new NumpyRandomState(5489);
    expect([rs.nextUint32(), rs.nextUint32(), rs.nextUint32()]).toEqual([3499211612, 581869302, 3890346734]);
  });

  it('rejects seeds NumPy would reject', () => {
    expect(() => new NumpyRandomState(-1)).toThrow(/seed/);
    expect(() => new NumpyRandomState(2 ** 32)).toThrow(/seed/);
  });
});
