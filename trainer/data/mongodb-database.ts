import {
  configuredDatabase,
  DATABASE_NAME_ACCEPTS,
  DEFAULT_EVENTS_DATABASE,
  databaseNameProblem,
  databaseOfUri,
} from '../../contracts/mongodb-uri';
import { InputError } from './lines';

/**
 * The database `--format mongodb` reads: the one in the connection string's path, else `MONGODB_DB`,
 * else `rx`, as the worker writes (contracts/mongodb-uri.ts). A module of its own, so that naming it
 * loads no driver.
 *
 * A name MongoDB refuses (databaseNameProblem) is refused here, before any connection, with what to
 * change: the driver's own "Database names cannot contain the character '.'" named neither
 * `MONGODB_DB` nor the connection string, and a name the server refuses (a space, 64 bytes) read as
 * an empty collection. The worker takes `rx` for such a `MONGODB_DB` (a setting's default, named in
 * `/healthz`); a command refuses instead, as it refuses its other bad input, rather than report on a
 * database nobody named. A `MONGODB_DB` the string's path makes unused is not checked.
 */
export function eventsDatabase(uri: string): string {
  const inPath = databaseOfUri(uri);
  if (inPath) {
    const problem = databaseNameProblem(inPath);
    if (problem !== undefined) {
      // Named, not the string: the database name holds no credentials, the rest of the string may.
      throw new InputError(
        `--input names the database "${inPath}" in its path, which must be ${DATABASE_NAME_ACCEPTS} (${problem})`,
      );
    }
    return inPath;
  }
  const { name, problem } = configuredDatabase(process.env.MONGODB_DB);
  if (problem !== undefined) {
    throw new InputError(
      `MONGODB_DB must be ${DATABASE_NAME_ACCEPTS}, got "${process.env.MONGODB_DB}" (${problem}); ` +
        `the worker takes the default, ${DEFAULT_EVENTS_DATABASE}, for it: unset MONGODB_DB to read there`,
    );
  }
  return name;
}
