/**
 * The worker's pseudonym of an anonymous shopper (worker/src/shopper/user-hash.ts `userHash`): hex of the
 * first 128 bits of HMAC-SHA-256(USER_HASH_KEY, `site \n rx_uid`). Rewritten here because the worker's
 * module brings its health, logging and price modules, and their Workers types, into the benchmark;
 * test/worker/bench-seed-pseudonym.unit.test.ts keeps the two equal.
 */
export async function anonymousPseudonym(userHashKey: string, site: string, id: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(userHashKey),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`${site}\n${id}`)), 0, 16);
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
