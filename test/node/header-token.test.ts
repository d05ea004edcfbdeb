import { describe, expect, it } from 'vitest';
import { bearerTokenProblem, withoutSecret } from '../../scripts/header-token';

describe('scripts/header-token.ts', () => {
  it('takes printable ASCII tokens and names the variable, never the value, of any other', () => {
    expect(bearerTokenProblem('T', 'abc-DEF_123.~+/=')).toBeUndefined();
    for (const [value, what] of [
      ['xyz\nen', 'a line break'],
      ['xyz\r', 'a line break'],
      ['xyz en', 'a space or other whitespace'],
      ['xyz\ten', 'a space or other whitespace'],
      ['xyz\x00', 'a control character'],
      ['xyzö', 'a character outside printable ASCII'],
      ['', 'a character outside printable ASCII'],
    ] as const) {
      const problem = bearerTokenProblem('ADMIN_TOKEN', value);
      expect(problem).toMatch(new RegExp(`^ADMIN_TOKEN contains ${what}`));
      if (value.length > 2) expect(problem).not.toContain(value.slice(0, 3));
    }
  });

  it('takes every piece of a secret out of a message that quotes it', () => {
    const message = 'Headers.append: "Bearer secret-one\nsecond-part" is an invalid header value.';
    expect(withoutSecret(message, 'secret-one\nsecond-part')).toBe(
      'Headers.append: "Bearer [redacted]\n[redacted]" is an invalid header value.',
    );
    expect(withoutSecret('fetch failed', 'secret')).toBe('fetch failed');
  });
});
