/**
 * Makes the tests' workerd trust the test CA (test/fixtures/tls/test-ca.pem), so the worker can reach
 * the TLS MongoDB stand-in with certificate verification on, as it reaches Atlas.
 *
 * Why an environment variable: workerd verifies every outgoing TLS connection against the CAs
 * miniflare hands it, and miniflare adds the certificates of the file `NODE_EXTRA_CA_CERTS` names
 * to them (the documented way to trust a local server), read once, when its module is first
 * evaluated. So this must run before miniflare is imported (worker-project.ts imports the pool after
 * calling it). A file the developer already named (a corporate proxy's CA) is kept: both go into one
 * bundle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_CA_FILE = fileURLToPath(new URL('../fixtures/tls/test-ca.pem', import.meta.url));

/**
 * A certificate and key of test/fixtures/tls for the TLS MongoDB stand-in: `localhost` (and 127.0.0.1)
 * issued by the test CA, or the same names `untrusted`, self-signed.
 */
export function testTlsCredentials(name: 'localhost' | 'untrusted'): { cert: Buffer; key: Buffer } {
  const read = (file: string) => fs.readFileSync(new URL(`../fixtures/tls/${file}`, import.meta.url));
  return { cert: read(`${name}.pem`), key: read(`${name}-key.pem`) };
}

export function trustTestCa(): void {
  const theirs = process.env.NODE_EXTRA_CA_CERTS;
  if (theirs === undefined || theirs === '' || path.resolve(theirs) === TEST_CA_FILE) {
    process.env.NODE_EXTRA_CA_CERTS = TEST_CA_FILE;
    return;
  }
  const bundle = fileURLToPath(
    new URL('../../node_modules/.cache/rx-test/extra-ca-certs.pem', import.meta.url),
  );
  if (theirs === bundle) return;
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  const existing = fs.existsSync(theirs) ? fs.readFileSync(theirs, 'utf8') : '';
  // Written aside and renamed: another test run reading the bundle never sees half of it.
  const written = `${bundle}.${process.pid}`;
  fs.writeFileSync(written, `${existing.trimEnd()}\n${fs.readFileSync(TEST_CA_FILE, 'utf8')}`);
  fs.renameSync(written, bundle);
  process.env.NODE_EXTRA_CA_CERTS = bundle;
}
