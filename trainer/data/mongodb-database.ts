import { eventsDatabaseOf } from '../../contracts/mongodb-uri';

/**
 * The database `--format mongodb` reads: the one in the connection string's path, else `MONGODB_DB`,
 * else `rx`, as the worker writes (contracts/mongodb-uri.ts). A module of its own, so that naming it
 * loads no driver.
 */
export function eventsDatabase(uri: string): string {
  return eventsDatabaseOf(uri, process.env.MONGODB_DB);
}
