/**
 * The worker's pseudonyms of anonymous shoppers (worker/src/shopper/user-hash.ts `userHash`): hex of the
 * first 128 bits of HMAC-SHA-256(USER_HASH_KEY, `site \n rx_uid`). Rewritten here because the worker's
 * module brings its health, logging and price modules, and their Workers types, into the benchmark;
 * test/worker/bench-seed-pseudonym.unit.test.ts keeps the two equal.
 */
export async function anonymousPseudonyms(
  userHashKey: string,
  site: string,
): Promise<(id: string) => Promise<string>> {
  const encoder = new TextEncoder();
  // Imported once for every shopper the benchmark seeds, as the worker keeps its signing keys.
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(userHashKey),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return async (id) => {
    const mac = new Uint8Array(
      await crypto.subtle.sign('HMAC', key, encoder.encode(`${site}\n${id}`)),
      0,
      16,
    );
    return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join('');
  };
}
