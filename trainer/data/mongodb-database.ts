import { databaseOfUri } from '../../contracts/mongodb-uri';

/**
 * The database `--format mongodb` reads: the one in the connection string's path, else `MONGODB_DB`,
 * else `rx` (the worker's default). A module of its own, so that naming it loads no driver.
 */
export function eventsDatabase(uri: string): string {
  return databaseOfUri(uri) || process.env.MONGODB_DB || 'rx';
}
