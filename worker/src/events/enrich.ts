import { isoTimestampOf, type RxEvent, SERVER_OWNED_KEYS, type StoredEvent } from '../../../contracts/events';
import type { Env } from '../env';
import { type Bucket, holdoutBucket, holdoutPercent } from '../shopper';
import { withRedactedUrls } from './url-redaction';

/** What the server knows about the request an event came with. */
export interface EnrichOptions {
  /** When the request arrived; one time for a whole batch. */
  receivedAt?: Date;
  /** Version of the model bundle serving now, when the caller knows it cheaply. */
  modelVersion?: string | null;
  /** The request's own `sentAt` (a Segment `/v1/batch` body's), for events that carry none (senderTime). */
  sentAt?: unknown;
}

/** Earliest event time kept as sent: before it, a sender's clock (or a forged event) is wrong. */
const EARLIEST_EVENT_TIME = Date.parse('2000-01-01T00:00:00Z');
/** How far ahead of its arrival an event may be dated (a device clock a little fast). */
const MAX_CLOCK_AHEAD_MS = 86_400_000;

/**
 * When the sender says the event happened: its `timestamp`. RudderStack's SDKs send none; they send
 * `originalTimestamp` (the device's clock when the event was made) and `sentAt` (the same clock when
 * the request left). From those the time is computed as Segment does, taking the device clock's error
 * out: `receivedAt - (sentAt - originalTimestamp)`, so a phone set two days slow still dates its events
 * right. Without a valid `sentAt` (the event's own, else the request's), `originalTimestamp` as sent.
 * Values that are not ISO 8601 date-times with a zone are ignored, as if not sent; the forms `timestamp`
 * takes are read as it reads them (isoTimestampOf: `+0200` offsets, times without seconds).
 */
function senderTime(event: RxEvent, receivedAt: string, requestSentAt: unknown): string | undefined {
  if (event.timestamp !== undefined) return event.timestamp;
  const original = isoTimestampOf(event.originalTimestamp);
  if (original === undefined) return undefined;
  const sentAt = isoTimestampOf(event.sentAt) ?? isoTimestampOf(requestSentAt);
  if (sentAt === undefined) return original;
  const skew = Date.parse(sentAt) - Date.parse(original);
  return new Date(Date.parse(receivedAt) - skew).toISOString();
}

/**
 * The event's time as stored: the sender's (senderTime), unless it is before 2000 or more than a day
 * after the event arrived, then the arrival time. One event dated 9999 would otherwise stretch every
 * weekly series of the forecast to the year 9999, and a year-0 date comes back from MongoDB as one
 * the trainer and the report refuse. (`receivedAt` keeps the arrival time either way.)
 */
function plausibleTimestamp(sent: string | undefined, receivedAt: string): string {
  if (sent === undefined) return receivedAt;
  const time = Date.parse(sent);
  const arrived = Date.parse(receivedAt);
  return time >= EARLIEST_EVENT_TIME && time <= arrived + MAX_CLOCK_AHEAD_MS ? sent : receivedAt;
}

/**
 * Adds what the server owns: `receivedAt`, `site`, the experiment `bucket` (deterministic from
 * `anonymousId`, the same function that chose what the shopper saw), `model_version` and a
 * `messageId` when the sender gave none. Keys the server owns are dropped from what the sender
 * sent; token-like parts of its URL fields are redacted (url-redaction.ts: every event the queue,
 * the outbox and MongoDB get passes here, the plugin's, Segment sources' and the proxy's page views);
 * everything else is kept as sent.
 */
export async function enrichEvents(
  env: Pick<Env, 'SITE_ID' | 'HOLDOUT_PERCENT'>,
  events: readonly RxEvent[],
  options: EnrichOptions = {},
): Promise<StoredEvent[]> {
  const receivedAt = (options.receivedAt ?? new Date()).toISOString();
  const site = env.SITE_ID;
  const percent = holdoutPercent(env.HOLDOUT_PERCENT);
  // A batch usually comes from one browser: hash each shopper id once.
  const buckets = new Map<string, Promise<Bucket>>();
  const bucketOf = (id: string) => {
    let bucket = buckets.get(id);
    if (bucket === undefined) {
      bucket = holdoutBucket(site, id, percent);
      buckets.set(id, bucket);
    }
    return bucket;
  };

  return Promise.all(
    events.map(async (event) => {
      const sent: Record<string, unknown> = withRedactedUrls(event);
      for (const key of SERVER_OWNED_KEYS) delete sent[key];
      const shopperId = event.anonymousId ?? event.userId ?? '';
      const stored: StoredEvent = {
        ...(sent as RxEvent),
        messageId: event.messageId ?? crypto.randomUUID(),
        timestamp: plausibleTimestamp(senderTime(event, receivedAt, options.sentAt), receivedAt),
        receivedAt,
        site,
        bucket: await bucketOf(shopperId),
        model_version: modelVersionOf(event, options.modelVersion ?? null),
      };
      return stored;
    }),
  );
}

/**
 * The version the shopper was served, as the sender reports it (`properties.model_version`), else
 * `current`. No caller passes `current` today, so an event without a reported version stores null.
 */
function modelVersionOf(event: RxEvent, current: string | null): string | null {
  const reported = event.properties?.model_version;
  return typeof reported === 'string' && reported !== '' ? reported : current;
}
