/**
 * How a MongoDB connection string starts, as the official driver reads it: `mongodb://` or
 * `mongodb+srv://`, lower case, with nothing before it (a space pasted with a secret counts). The
 * worker's consumer (`MONGODB_URI`) and the trainer's reader (`--format mongodb --input`) check a
 * string against this one rule before anything is tried, each with its own message.
 */
export const MONGODB_URI_SCHEME = /^mongodb(?:\+srv)?:\/\//;

/** The connection string after `mongodb://` or `mongodb+srv://`: hosts, then `/database?options`. */
export function withoutScheme(uri: string): string {
  return uri.replace(MONGODB_URI_SCHEME, '');
}

/**
 * The database a connection string names (`mongodb://h1,h2/shop?replicaSet=rs0` → `shop`), or ''.
 * Not `new URL`: a host list (a replica set) is no URL host, and it threw "Invalid URL".
 */
export function databaseOfUri(uri: string): string {
  const rest = withoutScheme(uri);
  const slash = rest.indexOf('/');
  if (slash < 0) return '';
  const path = rest.slice(slash + 1).split('?')[0] ?? '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The database events live in when neither the connection string nor `MONGODB_DB` names one. */
export const DEFAULT_EVENTS_DATABASE = 'rx';

/** What a database name must be, as a problem says it (`MONGODB_DB must be …`). */
export const DATABASE_NAME_ACCEPTS = 'a MongoDB database name';

/** Characters MongoDB refuses in a database name on every platform, as a problem names them. */
const REFUSED_CHARACTERS: ReadonlyMap<string, string> = new Map([
  ['/', '"/"'],
  ['\\', '"\\"'],
  ['.', '"."'],
  [' ', 'a space'],
  ['"', "'\"'"],
  ['$', '"$"'],
  ['\0', 'a NUL character'],
]);

/** Databases of MongoDB's own that events must not go to: read-only on Atlas, for every user. */
const SYSTEM_DATABASES = new Set(['local', 'config']);

/**
 * Why `name` cannot be the database events are written to and read from, or undefined when it can.
 * MongoDB refuses, on every platform ("Restrictions on Database Names" for Unix and Linux, which Atlas
 * runs): an empty name, one of 64 bytes (UTF-8) or more, and any of `/ \ . " $`, a space and NUL. The
 * driver refuses a `.` itself ("Database names cannot contain the character '.'"), the server the
 * rest; either way every batch of the consumer failed, was retried and finally dead-lettered. Also
 * refused: `local` and `config`, which Atlas makes read-only for every user (and `local` is not
 * replicated). Not refused: `* < > : | ?`, which only a MongoDB running on Windows refuses, and
 * which work on Atlas and Linux, where a deployment using one may already have its events.
 */
export function databaseNameProblem(name: string): string | undefined {
  if (name === '') return 'an empty name';
  for (const char of name) {
    const shown = REFUSED_CHARACTERS.get(char);
    if (shown !== undefined) return `MongoDB refuses ${shown} in a database name`;
  }
  const bytes = new TextEncoder().encode(name).length;
  if (bytes >= 64) return `${bytes} bytes long; MongoDB takes fewer than 64 bytes`;
  if (SYSTEM_DATABASES.has(name)) return `${name} is MongoDB's own database, read-only on Atlas`;
  return undefined;
}

/**
 * The database `MONGODB_DB` names: its trimmed value when MongoDB accepts it (databaseNameProblem),
 * else the default, `rx`, with the reason. Unset or blank is the default, without a problem.
 */
export function configuredDatabase(configured: string | undefined): { name: string; problem?: string } {
  const name = configured?.trim();
  if (!name) return { name: DEFAULT_EVENTS_DATABASE };
  const problem = databaseNameProblem(name);
  return problem === undefined ? { name } : { name: DEFAULT_EVENTS_DATABASE, problem };
}

/**
 * The database events live in, one rule for the worker that writes them and the trainer and `report`
 * that read them: the connection string's own (`…/shop?…`), else the `MONGODB_DB` setting when MongoDB
 * accepts it as a database name, else `rx`. The string's path comes first because the readers are
 * given only the string: a worker that wrote to `MONGODB_DB` while its `MONGODB_URI` named `shop` left
 * `train --format mongodb` reading an empty `shop`. A `MONGODB_DB` MongoDB refuses (`shop.events`)
 * is the default, as a bad setting is (worker/src/settings.ts names it in `/healthz`); it used to be
 * passed to the driver, which refused every batch. A database in the string's path is not replaced:
 * the driver also logs in against it (the auth database when the string names none), and writing
 * anywhere but where the string says would hide the mistake; the trainer refuses it
 * (trainer/data/mongodb-database.ts).
 */
export function eventsDatabaseOf(uri: string, configured: string | undefined): string {
  return databaseOfUri(uri) || configuredDatabase(configured).name;
}
