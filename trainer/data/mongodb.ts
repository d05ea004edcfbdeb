/**
 * Reader of behaviour events straight from MongoDB (the consumer's `events` collection) with the
 * official driver. An aggregation pipeline keeps only product-bearing track events and projects the
 * fields the trainer needs, so the server does the filtering and documents stream in by cursor.
 */
import { MongoClient } from 'mongodb';
import { fromEventDocument } from '../../contracts/event-document';
import { databaseOfUri, MONGODB_URI_SCHEME, withoutScheme } from '../../contracts/mongodb-uri';
import { type EventRecord, eventInteractions } from './event-interactions';
import { EVENT_WEIGHTS } from './event-weights';
import { IdentityLinks } from './identities';
import { InputError } from './lines';
import { eventsDatabase } from './mongodb-database';
import { type DataSource, type Interaction, type ItemStats, ReadReport } from './types';

/**
 * The pipeline: product events, and identify events that link an anonymous id to a user id (identity
 * stitching, identities.ts); only the fields the trainer reads, in time order.
 */
export function eventsPipeline(): object[] {
  return [
    {
      $match: {
        $or: [
          { type: 'track', event: { $in: Object.keys(EVENT_WEIGHTS) } },
          { type: 'identify', userId: { $type: 'string' }, anonymousId: { $type: 'string' } },
        ],
      },
    },
    { $sort: { timestamp: 1 } },
    {
      $project: {
        type: 1,
        event: 1,
        messageId: 1,
        userId: 1,
        anonymousId: 1,
        timestamp: 1,
        site: 1,
        properties: 1,
      },
    },
  ];
}

/** A data source over `uri` (database from the URI path or MONGODB_DB, default `rx`; collection `events`). */
export function mongodbSource(uri: string, collection = 'events'): DataSource {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  const identities = new IdentityLinks();
  async function* interactions(): AsyncGenerator<Interaction> {
    let n = 0;
    for await (const event of readEventDocuments(uri, eventsPipeline(), collection)) {
      n += 1;
      yield* eventInteractions(event, n, report, items, identities);
    }
    if (n === 0)
      throw new InputError(`collection ${eventsDatabase(uri)}.${collection} has no product events`);
  }
  return { interactions, report, items, identities };
}

/**
 * The events `pipeline` leaves of the collection at `uri`, in the stored form (ISO times), by cursor.
 * Every failure is an InputError that names the database and collection, never the connection
 * string. (Also the reader of `npm run report`, trainer/experiment/.)
 */
export async function* readEventDocuments(
  uri: string,
  pipeline: object[],
  collection = 'events',
): AsyncGenerator<EventRecord> {
  for await (const doc of readDocuments(uri, pipeline, collection)) yield fromEventDocument(doc);
}

/** The documents `pipeline` leaves of the collection at `uri`, as they come (see readEventDocuments). */
export async function* readDocuments(
  uri: string,
  pipeline: object[],
  collection = 'events',
): AsyncGenerator<Record<string, unknown>> {
  if (!MONGODB_URI_SCHEME.test(uri))
    throw new InputError('--input must be a mongodb:// or mongodb+srv:// connection string');
  const client = connectionClient(uri);
  try {
    await client.connect().catch((error: Error) => {
      throw new InputError(
        `cannot connect to MongoDB: ${error.message}${authSourceHint(error, uri, client)}`,
      );
    });
    const dbName = eventsDatabase(uri);
    const cursor = client.db(dbName).collection(collection).aggregate(pipeline, { allowDiskUse: true });
    let n = 0;
    for (;;) {
      // A refusal (no user in the string: "requires authentication") or a server lost mid-read
      // says which collection and how far, not only the driver's words.
      const doc = await cursor.next().catch((error: Error) => {
        throw new InputError(
          `reading ${dbName}.${collection} from MongoDB failed after ${n} events: ${error.message}${authSourceHint(error, uri, client)}`,
        );
      });
      if (doc === null) break;
      n += 1;
      yield doc as Record<string, unknown>;
    }
  } finally {
    await client.close();
  }
}

/** MongoDB's error code for a failed login ("Authentication failed.", whatever the cause). */
const AUTHENTICATION_FAILED = 18;

/**
 * A hint for a refused login that may be the auth database, not the password: without `authSource`
 * the driver authenticates against the database in the URI's path, so with `/shop` a self-hosted
 * user created in `admin` gets only MongoDB's bare "Authentication failed.". `client` gives the
 * auth database the driver really used: a `mongodb+srv://` TXT record (Atlas sets
 * `authSource=admin`) overrides the path, and then the hint would be wrong. Names only the
 * database, never the user, password or URI.
 */
export function authSourceHint(
  error: unknown,
  uri: string,
  client?: { options: { credentials?: { source?: string } } },
): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== AUTHENTICATION_FAILED) return '';
  const database = databaseOfUri(uri);
  if (database === '' || database === 'admin') return '';
  const query = uri.split('?')[1] ?? '';
  if (/(^|&)authSource=/i.test(query)) return '';
  const used = client?.options.credentials?.source;
  if (used !== undefined && used !== database) return '';
  const add = query === '' ? '?authSource=admin' : '&authSource=admin';
  return (
    ` (the driver authenticated against database "${database}", the one in the connection string's path;` +
    ` if the user is defined in another database, e.g. admin, add ${add} to the connection string)`
  );
}

const PERCENT_ENCODE = 'percent-encode @ : / ? # [ ] % in the user name and password';

/**
 * The driver's client for `uri`, or an InputError. The driver's parse errors can quote the part of
 * the string they choke on: with an unescaped `@` or `:` in the password, that part is the password
 * ("Unable to parse ss:w0rd with URL"), so with credentials in the string its reason is not shown.
 */
function connectionClient(uri: string): MongoClient {
  // An `@` after the first `/` is a password (or user name) with an unescaped `/` in it: the driver
  // would take what precedes that `/` for the host and name it in "getaddrinfo ENOTFOUND …", a piece
  // of the password. A database name or option holds no `@`.
  const rest = withoutScheme(uri).split('?')[0] ?? '';
  const slash = rest.indexOf('/');
  if (slash >= 0 && rest.includes('@', slash)) {
    throw new InputError(
      `--input is not a valid MongoDB connection string (it has an "@" after a "/"; ${PERCENT_ENCODE})`,
    );
  }
  try {
    return new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  } catch (error) {
    const hasCredentials = withoutScheme(uri).split('/')[0]?.includes('@') ?? false;
    const reason = hasCredentials
      ? `not shown, as it may quote the password; ${PERCENT_ENCODE}`
      : error instanceof Error
        ? error.message
        : String(error);
    throw new InputError(`--input is not a valid MongoDB connection string (${reason})`);
  }
}
