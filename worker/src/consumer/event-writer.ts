import type { Db, Document } from 'mongodb';
import { toEventDocument } from '../../../contracts/event-document';
import type { StoredEvent } from '../../../contracts/events';
import { EVENTS_COLLECTION, REJECTED_COLLECTION } from './collections';
import type { RejectedEventDocument } from './rejected-event';
import { type DocumentOutcome, outcomesOfInsert } from './write-errors';

/** One batch for MongoDB: valid events, and records of messages already known to be bad. */
export interface WriteRequest {
  events: StoredEvent[];
  rejected: RejectedEventDocument[];
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

  // Events MongoDB refused for good become rejected records too, so nothing vanishes.
  const refused: RejectedEventDocument[] = [];
  const refusedIndex: number[] = [];
  eventOutcomes.forEach((outcome, index) => {
    const event = request.events[index];
    if (outcome.kind !== 'invalid' || event === undefined) return;
    refused.push(refusedEventDocument(event, outcome.reason));
    refusedIndex.push(index);
  });

  const rejectedOutcomes = await insertUnordered(db, REJECTED_COLLECTION, [...request.rejected, ...refused]);
  refusedIndex.forEach((eventIndex, i) => {
    const recorded = rejectedOutcomes[request.rejected.length + i];
    // Only a recorded refusal may be acked; otherwise the message is retried (and may reach the DLQ).
    if (recorded?.kind === 'retry') eventOutcomes[eventIndex] = recorded;
  });
  return { events: eventOutcomes, rejected: rejectedOutcomes.slice(0, request.rejected.length) };
}

async function insertUnordered(
  db: Db,
  collection: string,
  documents: Document[],
): Promise<DocumentOutcome[]> {
  if (documents.length === 0) return [];
  try {
    await db.collection(collection).insertMany(documents, { ordered: false });
    return outcomesOfInsert(documents.length, undefined);
  } catch (error) {
    return outcomesOfInsert(documents.length, error);
  }
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
