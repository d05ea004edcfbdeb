const encoder = new TextEncoder();

/**
 * Compares two secrets in constant time. Both sides are hashed first so the comparison
 * always covers 32 bytes: `timingSafeEqual` needs equal lengths, and comparing lengths
 * directly would leak the secret's length.
 */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
