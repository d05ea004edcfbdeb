/**
 * Reader of behaviour events straight from MongoDB (the consumer's `events` collection) with the
 * official driver. Aggregation pipelines keep only product-bearing track events and identify events
 * and project the fields the trainer needs, so the server does the filtering and documents stream in
 * by cursor.
 *
 * Time order without an in-memory sort: each kind of product event is read oldest first along the
 * consumer's `event_time` index (`event, timestamp`; with the equality on `event`, the index gives the
 * order), and the kinds are merged here. A `$sort` on `timestamp` over all of them would be a blocking
 * sort on the server, which fails past 100 MB without `allowDiskUse`, and Atlas Free and Flex clusters
 * ignore `allowDiskUse`.
 */
import { type MongoClient as Client, type Document, MongoClient } from 'mongodb';
import { fromEventDocument } from '../../contracts/event-document';
import { databaseOfUri, MONGODB_URI_SCHEME, withoutScheme } from '../../contracts/mongodb-uri';
import { eventInteractions } from './event-interactions';
import { EVENTS_READ } from './event-weights';
import { IdentityLinks } from './identities';
import { InputError } from './lines';
import { eventsDatabase } from './mongodb-database';
import { type DataSource, type Interaction, type ItemStats, ReadReport } from './types';

/** The fields the trainer reads of an event. */
const PROJECT = {
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
};

/**
 * The product events of one kind (`event`, one of EVENTS_READ), oldest first. Hinted to an index
 * on (`event`, `timestamp`), the order is the index's: no sort in memory.
 */
export function productEventsPipeline(event: string): object[] {
  return [{ $match: { event, type: 'track' } }, { $sort: { timestamp: 1 } }, PROJECT];
}

/**
 * Identify events that link an anonymous id to a user id (identity stitching, identities.ts), in any
 * order: a link is a link whenever it was made.
 */
export function identifyEventsPipeline(): object[] {
  return [
    { $match: { type: 'identify', userId: { $type: 'string' }, anonymousId: { $type: 'string' } } },
    PROJECT,
  ];
}

/** An index of the events collection, as `listIndexes` gives it. */
export interface EventsIndex {
  name: string;
  key: Record<string, unknown>;
}

/**
 * The first index whose keys begin with `fields`, in that order, each ascending or descending (1 or
 * -1): one that can give documents in the order of those fields. The consumer creates the ones the
 * readers use (worker/src/consumer/collections.ts); an index of the data team's own with the same
 * leading keys serves as well.
 */
export function indexStartingWith(
  indexes: readonly EventsIndex[],
  fields: readonly string[],
): EventsIndex | undefined {
  return indexes.find((index) => {
    const keys = Object.entries(index.key);
    return fields.every((field, i) => keys[i]?.[0] === field && (keys[i]?.[1] === 1 || keys[i]?.[1] === -1));
  });
}

/** Documents of several cursors, each in time order, merged oldest first (ties: the earlier cursor's). */
export async function* oldestFirst(
  streams: readonly AsyncGenerator<Record<string, unknown>>[],
): AsyncGenerator<Record<string, unknown>> {
  try {
    const heads = await Promise.all(streams.map((stream) => stream.next()));
    for (;;) {
      let pick = -1;
      let earliest = Number.POSITIVE_INFINITY;
      heads.forEach((head, i) => {
        if (head.done) return;
        const time = timeOf(head.value);
        if (pick < 0 || time < earliest) {
          pick = i;
          earliest = time;
        }
      });
      const stream = streams[pick];
      const head = heads[pick];
      if (stream === undefined || head === undefined || head.done) return;
      yield head.value;
      heads[pick] = await stream.next();
    }
  } finally {
    await Promise.all(streams.map((stream) => stream.return(undefined)));
  }
}

/**
 * Milliseconds of a stored `timestamp` (a Date); anything else sorts first, as MongoDB orders every
 * other BSON type (missing, null, numbers, strings) before dates. The reader reports such an event as
 * invalid.
 */
function timeOf(doc: Record<string, unknown>): number {
  const time = doc.timestamp instanceof Date ? doc.timestamp.getTime() : Number.NaN;
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

/** A data source over `uri` (database from the URI path or MONGODB_DB, default `rx`; collection `events`). */
export function mongodbSource(uri: string, collection = 'events'): DataSource {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  const identities = new IdentityLinks();
  async function* interactions(): AsyncGenerator<Interaction> {
    let n = 0;
    const events = await EventsCollection.open(uri, collection);
    try {
      const byTime = indexStartingWith(await events.indexes(), ['event', 'timestamp']);
      if (byTime === undefined) report.notes.push(NO_TIME_INDEX);
      // The links first: they are kept until every event is read (stitchIdentities), in any order.
      for await (const doc of events.read(identifyEventsPipeline())) {
        n += 1;
        yield* eventInteractions(fromEventDocument(doc), n, report, items, identities);
      }
      // In time order: the item descriptions keep the latest price samples and category.
      const kinds = EVENTS_READ.map((event) => events.read(productEventsPipeline(event), byTime?.name));
      for await (const doc of oldestFirst(kinds)) {
        n += 1;
        yield* eventInteractions(fromEventDocument(doc), n, report, items, identities);
      }
    } finally {
      await events.close();
    }
    if (n === 0)
      throw new InputError(`collection ${eventsDatabase(uri)}.${collection} has no product events`);
  }
  return { interactions, report, items, identities };
}

/** The read summary's note when the collection has no index to read the events in time order by. */
export const NO_TIME_INDEX =
  "the events collection has no index on (event, timestamp), such as the consumer's event_time: " +
  'MongoDB sorts each kind of event in memory, which past 100 MB fails on Atlas Free and Flex clusters';

/** What a read that the server had to sort in memory, past its limit, adds to its error. */
const SORT_LIMIT_HINT =
  ' (MongoDB sorted in memory, past its limit, as no index gave the order: the consumer creates the ' +
  'indexes the readers use, worker/src/consumer/collections.ts; Atlas Free and Flex clusters ignore allowDiskUse)';

/** MongoDB's error code for a blocking sort past its memory limit without disk use. */
const SORT_EXCEEDED_MEMORY = 292;

/** Whether a read failed because MongoDB would not sort in memory past its limit (292; see read). */
export function sortRefused(error: unknown): boolean {
  return (
    error instanceof InputError &&
    (error.cause as { code?: unknown } | undefined)?.code === SORT_EXCEEDED_MEMORY
  );
}

/**
 * One connection to the events collection at `uri` for the readers (`npm run train`, and `npm run
 * report`, trainer/experiment/): its indexes, and the documents of pipelines, by cursor, in the stored
 * form (ISO times via fromEventDocument at the caller). Every failure is an InputError that names the
 * database and collection and how many documents were read, never the connection string.
 */
export class EventsCollection {
  /** Documents read so far, over every pipeline. */
  private count = 0;

  private constructor(
    private readonly client: Client,
    private readonly uri: string,
    readonly database: string,
    readonly name: string,
  ) {}

  static async open(uri: string, collection = 'events'): Promise<EventsCollection> {
    if (!MONGODB_URI_SCHEME.test(uri))
      throw new InputError('--input must be a mongodb:// or mongodb+srv:// connection string');
    // After connectionClient, which refuses a string whose path would hold a piece of the password
    // (an unescaped "/" in it); before connecting: a database name MongoDB refuses is refused with
    // what to change (an unconnected client holds nothing to close).
    const client = connectionClient(uri);
    const database = eventsDatabase(uri);
    try {
      await client.connect();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const refused = new InputError(
        `cannot connect to MongoDB: ${message}${authSourceHint(error, uri, client)}`,
      );
      await client.close().catch(() => undefined);
      throw refused;
    }
    return new EventsCollection(client, uri, database, collection);
  }

  /**
   * The collection's indexes a read may be hinted to: each holds every document in plain order. Left
   * out: sparse and partial ones (a read along one would miss the documents it does not hold), hidden
   * ones (MongoDB refuses a hint to them), and ones with a collation (their order of strings is not
   * the one a sort asks for). None when the server cannot say (no such collection yet, or a user
   * without the `listIndexes` privilege): the reads then go unhinted, and a refusal shows at the read.
   */
  async indexes(): Promise<EventsIndex[]> {
    try {
      const listed = await this.client.db(this.database).collection(this.name).listIndexes().toArray();
      return listed.flatMap((index: Document) =>
        typeof index.name === 'string' &&
        index.key !== null &&
        typeof index.key === 'object' &&
        index.sparse !== true &&
        index.hidden !== true &&
        index.partialFilterExpression === undefined &&
        index.collation === undefined
          ? [{ name: index.name, key: index.key as Record<string, unknown> }]
          : [],
      );
    } catch {
      return [];
    }
  }

  /**
   * The documents `pipeline` leaves, as they come; with `hint`, read along that index. `allowDiskUse`
   * lets a self-hosted server or a dedicated cluster spill a sort that no index gives (the index
   * missing); Atlas Free and Flex clusters ignore it, so the readers' sorts are ones an index gives.
   */
  async *read(pipeline: object[], hint?: string): AsyncGenerator<Record<string, unknown>> {
    const cursor = this.client
      .db(this.database)
      .collection(this.name)
      .aggregate(pipeline as Document[], { allowDiskUse: true, ...(hint === undefined ? {} : { hint }) });
    try {
      for (;;) {
        // A refusal (no user in the string: "requires authentication") or a server lost mid-read
        // says which collection and how far, not only the driver's words.
        const doc = await cursor.next().catch((error: Error) => {
          const code = (error as { code?: unknown }).code;
          throw new InputError(
            `reading ${this.database}.${this.name} from MongoDB failed after ${this.count} events: ${error.message}` +
              (code === SORT_EXCEEDED_MEMORY
                ? SORT_LIMIT_HINT
                : authSourceHint(error, this.uri, this.client)),
            { cause: error },
          );
        });
        if (doc === null) return;
        this.count += 1;
        yield doc as Record<string, unknown>;
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
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

/** How long a read may go without any answer from the server before it fails (socketTimeoutMS). */
export const READ_SILENCE_MS = 10 * 60_000;

/**
 * The driver's client for `uri`, or an InputError. The driver's parse errors can quote the part of
 * the string they choke on: with an unescaped `@` or `:` in the password, that part is the password
 * ("Unable to parse ss:w0rd with URL"), so with credentials in the string its reason is not shown.
 */
export function connectionClient(uri: string): MongoClient {
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
  // Two `@` before the hosts: one is in the password (or user name). The driver took what follows it
  // for the host and named it, a piece of the password, in "getaddrinfo ENOTFOUND …".
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  if (authority.indexOf('@') !== authority.lastIndexOf('@')) {
    throw new InputError(
      `--input is not a valid MongoDB connection string (it has more than one "@" before the host; ${PERCENT_ENCODE})`,
    );
  }
  try {
    // A read that gets no answer for READ_SILENCE_MS fails instead of waiting for ever: a server that
    // still answers the driver's heartbeats (so the monitor sees nothing wrong) but never a `getMore`
    // would otherwise hang a training run with no error. Generous, for a server-side sort's first batch;
    // the URI's own `socketTimeoutMS` wins.
    const options = /[?&]sockettimeoutms=/i.test(uri) ? {} : { socketTimeoutMS: READ_SILENCE_MS };
    return new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, ...options });
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
