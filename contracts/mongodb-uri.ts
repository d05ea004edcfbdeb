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

/**
 * The database events live in, one rule for the worker that writes them and the trainer and `report`
 * that read them: the connection string's own (`…/shop?…`), else the `MONGODB_DB` setting, else `rx`.
 * The string's path comes first because the readers are given only the string: a worker that wrote to
 * `MONGODB_DB` while its `MONGODB_URI` named `shop` left `train --format mongodb` reading an empty `shop`.
 */
export function eventsDatabaseOf(uri: string, configured: string | undefined): string {
  return databaseOfUri(uri) || configured?.trim() || 'rx';
}
