import type { Db, Document } from 'mongodb';
import { toEventDocument } from '../../../contracts/event-document';
import type { StoredEvent } from '../../../contracts/events';
import { describeError } from '../describe-error';
import { log } from '../log';
import { EVENTS_COLLECTION, REJECTED_COLLECTION } from './collections';
import type { RejectedEventDocument } from './rejected-event';
import { type DocumentOutcome, outcomesOfInsert } from './write-errors';

/** One batch for MongoDB: valid events, and records of messages already known to be bad. */
export interface WriteRequest {
  events: StoredEvent[];
  rejected: RejectedEventDocument[];
  /**
   * Per event (same order), whether its queue message is a redelivery (`attempts` > 1): such an event
   * found stored already is told apart (DocumentOutcome `sameIntake`, copiesOfSameIntake).
   */
  redelivered?: boolean[];
  /**
   * Per event (same order), the id of its queue message: the writer object notes the events a
   * message's first delivery found stored by another message, so that a redelivery of it does not take
   * them for its own (EventWriter.settleCopies).
   */
  queueMessages?: string[];
}

/** Outcomes in the order of the request's arrays. `invalid` events were recorded in `rejected_events`. */
export interface WriteResult {
  events: DocumentOutcome[];
  rejected: DocumentOutcome[];
}

/**
 * Writes a batch with two unordered `insertMany` calls (`events` with `_id` = `messageId`, then
 * `rejected_events`). Duplicate keys count as success (at-least-once delivery); documents MongoDB
 * refuses for good are recorded in `rejected_events` with the server's reason; everything else
 * comes back as `retry`. Never throws: a failure is an outcome.
 */
export async function writeBatch(db: Db, request: WriteRequest): Promise<WriteResult> {
  const eventOutcomes = await insertUnordered(db, EVENTS_COLLECTION, request.events.map(toEventDocument));
  await copiesOfSameIntake(db, request, eventOutcomes);

  // Events MongoDB refused for good become rejected records too, so nothing vanishes.
  const refused: RejectedEventDocument[] = [];
  const refusedIndex: number[] = [];
  eventOutcomes.forEach((outcome, index) => {
    const event = request.events[index];
    if (outcome.kind !== 'invalid' || event === undefined) return;
    refused.push(refusedEventDocument(event, outcome.reason));
    refusedIndex.push(index);
  });

  // A record rejected_events refuses for good (a validator or unique index of the data team's own) is
  // retried, not acked: acked, its event would be in neither collection. Retried, it reaches the
  // dead-letter queue if it stays so, from which a replay stores it once the collection takes it.
  const rejectedOutcomes = (
    await insertUnordered(db, REJECTED_COLLECTION, [...request.rejected, ...refused])
  ).map(
    (outcome): DocumentOutcome =>
      outcome.kind === 'invalid'
        ? { kind: 'retry', reason: `${REJECTED_COLLECTION} refused the record: ${outcome.reason}` }
        : outcome,
  );
  refusedIndex.forEach((eventIndex, i) => {
    const recorded = rejectedOutcomes[request.rejected.length + i];
    // Only a recorded refusal may be acked; otherwise the message is retried (and may reach the DLQ).
    if (recorded?.kind === 'retry') eventOutcomes[eventIndex] = recorded;
  });
  return { events: eventOutcomes, rejected: rejectedOutcomes.slice(0, request.rejected.length) };
}

/**
 * For each event of a redelivered message found stored already, whether the stored copy came from the
 * same intake request (the same `receivedAt`), set on its `duplicate` outcome as `sameIntake`. The
 * consumer records activity and live counts for such a copy, since the delivery that stored it may
 * have died before doing so; a copy from another request is the event sent twice (the storefront
 * script sends a batch again when its page closed before the answer, Segment libraries retry), whose
 * own message recorded it. `attempts` > 1 alone cannot tell the two apart: a resend whose first
 * delivery was retried (MongoDB slow, or another event of its pack) would count again.
 *
 * Why `receivedAt`: every intake request stamps its own (events/enrich.ts), to the millisecond, so a
 * resend's differs from the first send's, and it is in every document already: no field added to the
 * data team's documents, and nothing read on a first delivery. One `find` by `_id` (projected to
 * `receivedAt`) only for a redelivery with duplicates, which is rare. What it cannot tell apart is the
 * same enriched body in two queue messages (the outbox sending events a timed-out send had queued after
 * all, a dead-letter replay): the writer object tells those apart by what the second message's first
 * delivery found (EventWriter.settleCopies). A failed read leaves `sameIntake` unset (the
 * consumer then takes the copy as this message's: at least once, as before) and is only logged: the
 * events are stored.
 */
async function copiesOfSameIntake(db: Db, request: WriteRequest, outcomes: DocumentOutcome[]): Promise<void> {
  const asked = new Map<string, number[]>();
  outcomes.forEach((outcome, index) => {
    const event = request.events[index];
    if (outcome.kind !== 'duplicate' || request.redelivered?.[index] !== true || event === undefined) return;
    asked.set(event.messageId, [...(asked.get(event.messageId) ?? []), index]);
  });
  if (asked.size === 0) return;
  let copies: Array<{ _id: string; receivedAt?: unknown }>;
  try {
    copies = await db
      .collection<{ _id: string; receivedAt?: unknown }>(EVENTS_COLLECTION)
      .find({ _id: { $in: [...asked.keys()] } }, { projection: { receivedAt: 1 } })
      .toArray();
  } catch (error) {
    log('warn', 'events_duplicates_not_read', { events: asked.size, error });
    return;
  }
  for (const copy of copies) {
    const stored = copy.receivedAt instanceof Date ? copy.receivedAt.getTime() : Number.NaN;
    for (const index of asked.get(copy._id) ?? []) {
      const event = request.events[index];
      if (event === undefined || Number.isNaN(stored)) continue;
      outcomes[index] = { kind: 'duplicate', sameIntake: stored === new Date(event.receivedAt).getTime() };
    }
  }
}

async function insertUnordered(
  db: Db,
  collection: string,
  documents: Document[],
): Promise<DocumentOutcome[]> {
  if (documents.length === 0) return [];
  const outcomes = await insertOnce(db, collection, documents);
  if (!outcomes.every((outcome) => outcome.kind === 'retry')) return outcomes;
  // The driver encodes a batch before sending it, so one document it cannot encode fails every
  // document beside it, on every retry. Find such documents, refuse them for good, and insert the
  // rest. (The intake and the consumer's validation refuse what is known to fail; this is for what
  // they miss.) Only on a failure with no per-document verdict, so the happy path pays nothing.
  const unencodable = await unencodableDocuments(documents);
  if (unencodable.size === 0) return outcomes;
  const rest = documents.filter((_, index) => !unencodable.has(index));
  const restOutcomes = rest.length > 0 ? await insertOnce(db, collection, rest) : [];
  let next = 0;
  return documents.map((_, index) => {
    const refused = unencodable.get(index);
    if (refused !== undefined) return refused;
    const outcome = restOutcomes[next];
    next += 1;
    return outcome ?? { kind: 'retry', reason: 'no outcome' };
  });
}

async function insertOnce(db: Db, collection: string, documents: Document[]): Promise<DocumentOutcome[]> {
  try {
    await db.collection(collection).insertMany(documents, { ordered: false });
    return outcomesOfInsert(documents.length, undefined);
  } catch (error) {
    return outcomesOfInsert(documents.length, error);
  }
}

/** Documents BSON cannot encode (a NUL in a field name, nesting that overflows the encoder). */
async function unencodableDocuments(documents: Document[]): Promise<Map<number, DocumentOutcome>> {
  const { BSON } = await import('mongodb');
  const found = new Map<number, DocumentOutcome>();
  documents.forEach((document, index) => {
    try {
      BSON.serialize(document);
    } catch (error) {
      found.set(index, {
        kind: 'invalid',
        reason: `cannot be encoded as BSON: ${describeError(error)}`.slice(0, 500),
      });
    }
  });
  return found;
}

function refusedEventDocument(event: StoredEvent, reason: string): RejectedEventDocument {
  const raw = JSON.stringify(event);
  return {
    _id: `mongo:${event.messageId}`,
    messageId: event.messageId,
    reason: 'MongoDB refused the document',
    problems: [{ reason }],
    raw: raw.slice(0, 64_000),
    rawTruncated: raw.length > 64_000,
    queueMessageId: '',
    attempts: 0,
    rejectedAt: new Date(),
  };
}
