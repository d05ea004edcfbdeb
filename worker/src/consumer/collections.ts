import type { Db } from 'mongodb';
import { eventsDatabaseOf } from '../../../contracts/mongodb-uri';
import { setting } from '../config';
import { log } from '../log';

/** Collection of stored events (`_id` = `messageId`), DESIGN.md "Events". */
export const EVENTS_COLLECTION = 'events';
/** Messages that can never be stored, with the reason. Never silently dropped. */
export const REJECTED_COLLECTION = 'rejected_events';

/**
 * The database events go to: the one `MONGODB_URI` names in its path, else `MONGODB_DB`, else `rx`;
 * the rule the trainer and `report` read by (contracts/mongodb-uri.ts eventsDatabaseOf). `MONGODB_DB`
 * is read as a setting, so a name MongoDB refuses is the default and logged (`config_problem`) by the
 * consumer's own isolate, not only when someone asks `/healthz`.
 */
export function databaseName(env: { MONGODB_URI?: string; MONGODB_DB?: string }): string {
  return eventsDatabaseOf(env.MONGODB_URI?.trim() ?? '', setting(env, 'MONGODB_DB'));
}

/** The readers' indexes on `events`. */
const EVENT_INDEXES = [
  { key: { userId: 1, timestamp: -1 }, name: 'user_time' },
  { key: { anonymousId: 1, timestamp: -1 }, name: 'anonymous_time' },
  { key: { event: 1, timestamp: -1 }, name: 'event_time' },
  { key: { site: 1, timestamp: -1 }, name: 'site_time' },
  { key: { 'properties.order_id': 1 }, name: 'order_id' },
] as const;

/**
 * Indexes readers need: a shopper's history by time (for identified and anonymous shoppers),
 * an event type by time (funnels, the trainer's readers), a site's events by time (`npm run report`'s
 * window, which reads every kind of event), and orders by id. Two of them give readers their order,
 * hinted, so that the server never sorts every event in memory (past 100 MB that fails, and Atlas Free
 * and Flex clusters ignore allowDiskUse): `event_time` the trainer's read of each kind of event oldest
 * first (trainer/data/mongodb.ts), `anonymous_time` the report's browser-by-browser read
 * (trainer/experiment/read-events.ts). Without them those reads sort in memory. `createIndexes`
 * is idempotent for identical specs, so calling it again is harmless; callers still do it
 * once per client to save the round trip. One command per index: MongoDB builds all of a command's
 * indexes or none, so an index of the data team's own that clashes with one of ours must cost only that one.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  // One after another: one connection, beside the batch's own (a Worker opens six sockets at once).
  for (const spec of EVENT_INDEXES) {
    await tolerateClash(db.collection(EVENTS_COLLECTION).createIndexes([spec]));
  }
  await tolerateClash(
    db.collection(REJECTED_COLLECTION).createIndexes([{ key: { rejectedAt: -1 }, name: 'rejected_time' }]),
  );
}

/**
 * MongoDB's answers to a `createIndexes` whose spec clashes with an index already there:
 * 67 CannotCreateIndex, 68 IndexAlreadyExists, 85 IndexOptionsConflict, 86 IndexKeySpecsConflict.
 */
const INDEX_CONFLICT_CODES = new Set([67, 68, 85, 86]);

/**
 * The server refused a spec of ours because an index of the data team's own clashes with it: inserts
 * do not need ours, so that is logged and done with (not retried with every batch). Anything else
 * (unreachable, login refused) is thrown, with its cause.
 */
async function tolerateClash(creating: Promise<unknown>): Promise<void> {
  try {
    await creating;
  } catch (error) {
    const clash =
      error instanceof Error &&
      error.name === 'MongoServerError' &&
      INDEX_CONFLICT_CODES.has((error as { code?: unknown }).code as number);
    if (!clash) throw error;
    log('warn', 'mongodb_indexes_failed', { error });
  }
}
