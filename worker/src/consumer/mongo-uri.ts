/**
 * Which `MONGODB_URI`s cannot work from a Worker, found before any connection is tried, so `/healthz`
 * and the consumer's log name the setting to change instead of a driver error that does not say it
 * (a certificate the Worker does not trust shows as "proxy request failed, cannot connect to the
 * specified address"; a `tlsCAFile` as "no such file or directory").
 *
 * Only what is certain to fail in workerd is named (each seen there with driver 6, docs/analytics.md
 * "Connecting a real MongoDB"): a Worker has no files to read certificates from, and always verifies
 * the server's certificate against the public CAs. Everything else is left to the driver, whose own
 * errors are specific. The messages name options only: the URI holds the password.
 */
import { databaseNameProblem, databaseOfUri, MONGODB_URI_SCHEME } from '../../../contracts/mongodb-uri';

/** Options that name a file: client certificates, a private CA, a revocation list. */
const FILE_OPTIONS = ['tlsCAFile', 'tlsCertificateKeyFile', 'tlsCRLFile'] as const;
/** Options that turn certificate checks off: workerd refuses them ("… option is not implemented"). */
const INSECURE_OPTIONS = ['tlsInsecure', 'tlsAllowInvalidCertificates'] as const;

const FIX_CA =
  "the server's certificate must come from a public CA (Atlas's do; Let's Encrypt for your own server)";

/** Why `uri` cannot work from a Worker, or undefined when nothing certain is wrong with it. */
export function mongoUriProblem(uri: string): string | undefined {
  if (!MONGODB_URI_SCHEME.test(uri)) return 'MONGODB_URI must start with mongodb:// or mongodb+srv://';
  // A database in the string's path is where events go (contracts/mongodb-uri.ts eventsDatabaseOf):
  // one MongoDB refuses failed every batch with the driver's words. Not quoted: the string is a secret.
  const database = databaseOfUri(uri);
  const refused = database === '' ? undefined : databaseNameProblem(database);
  if (refused !== undefined)
    return `MONGODB_URI names a database in its path (after the host, before ?) that MongoDB refuses: ${refused}; name another, or none to use MONGODB_DB`;
  const query = uri.indexOf('?');
  if (query === -1) return undefined;
  // The driver reads option names case-insensitively; so does this.
  const options = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(uri.slice(query + 1)))
    options.set(name.toLowerCase(), value);
  for (const name of FILE_OPTIONS) {
    if (!options.has(name.toLowerCase())) continue;
    return name === 'tlsCAFile'
      ? `MONGODB_URI has tlsCAFile, which cannot work on Workers: they read no files and trust only the public CAs; ${FIX_CA}`
      : `MONGODB_URI has ${name}, which cannot work on Workers: they read no files (so no client certificate, no MONGODB-X509); log in with a user and password`;
  }
  for (const name of INSECURE_OPTIONS) {
    if (options.get(name.toLowerCase())?.toLowerCase() !== 'true') continue;
    return `MONGODB_URI has ${name}=true, which cannot work on Workers: they always verify the server's certificate; remove it, and ${FIX_CA}`;
  }
  return undefined;
}
