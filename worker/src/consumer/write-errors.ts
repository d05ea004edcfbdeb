import type { MongoBulkWriteError } from 'mongodb';

/** What happened to one document of an unordered insert. */
export type DocumentOutcome =
  | { kind: 'stored' }
  | {
      kind: 'duplicate';
      /**
       * Whether the copy in MongoDB came from the same intake request as this event (its `receivedAt`
       * is this event's): stored by an earlier delivery of this queue message, not by an event sent
       * twice. Asked only for events of a redelivered message (WriteRequest.redelivered, writeBatch);
       * absent when not asked or not known (the read failed).
       */
      sameIntake?: boolean;
    }
  | { kind: 'invalid'; reason: string }
  | { kind: 'retry'; reason: string };

/** The document is already there: at-least-once delivery brought it twice; that is success. */
export const DUPLICATE_KEY_CODE = 11000;

/**
 * Server codes that say "this document can never be stored as it is": retrying would fail
 * forever, so such a message goes to `rejected_events` instead of the dead-letter queue.
 * 2 BadValue, 14 TypeMismatch, 52 DollarPrefixedFieldName, 55 InvalidDBRef,
 * 121 DocumentValidationFailure, 10334 BSONObjectTooLarge, 17280 KeyTooLong.
 */
const PERMANENT_CODES = new Set([2, 14, 52, 55, 121, 10334, 17280]);

/**
 * Maps the result of `insertMany(docs, { ordered: false })` to one outcome per document.
 * `error` is what insertMany threw, or undefined when it succeeded. Anything that is not a
 * per-document verdict (network, timeout, write concern) means "retry all": inserts are
 * idempotent by `_id`, so retrying documents that did get written is harmless.
 */
export function outcomesOfInsert(count: number, error: unknown): DocumentOutcome[] {
  const outcomes: DocumentOutcome[] = Array.from({ length: count }, () => ({ kind: 'stored' }));
  if (error === undefined) return outcomes;
  if (!isBulkWriteError(error) || hasWriteConcernError(error)) {
    const reason = describe(error);
    return outcomes.map(() => ({ kind: 'retry', reason }));
  }
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  // The driver also wraps a dropped connection in MongoBulkWriteError, with no per-document
  // verdict for what it never sent. Only when inserted + failed accounts for every document is
  // "no error listed" proof of "stored"; otherwise the unlisted ones are retried (idempotent).
  if (error.insertedCount + writeErrors.length < count) {
    const reason = describe(error);
    outcomes.fill({ kind: 'retry', reason });
  }
  for (const writeError of writeErrors) {
    const index = writeError.index;
    if (index < 0 || index >= count) continue;
    const code = writeError.code;
    const reason = `MongoDB error ${code}: ${writeError.errmsg ?? 'unknown'}`.slice(0, 500);
    if (code === DUPLICATE_KEY_CODE && onIdOnly(writeError)) outcomes[index] = { kind: 'duplicate' };
    // Another unique index (one a data team added) refused it: not this event again, another one
    // with the same value. Recorded with the server's reason instead of acked as if stored.
    else if (code === DUPLICATE_KEY_CODE) outcomes[index] = { kind: 'invalid', reason };
    else if (PERMANENT_CODES.has(code)) outcomes[index] = { kind: 'invalid', reason };
    else outcomes[index] = { kind: 'retry', reason };
  }
  return outcomes;
}

/**
 * Whether a duplicate key error is on `_id`, the event's `messageId`: the same event delivered again.
 * Read from the message ("… index: _id_ dup key: …"), the one place the driver keeps the index's
 * name: its bulk writer copies only `index`, `code`, `errmsg` and `errInfo` of each server write
 * error (mongodb/lib/bulk/common.js), so the server's `keyPattern` never reaches here. No index named:
 * taken as `_id`, the only unique index the consumer makes.
 */
function onIdOnly(writeError: { errmsg?: string }): boolean {
  const named = /index: (\S+) dup key/.exec(writeError.errmsg ?? '');
  return named === null || named[1] === '_id_';
}

function hasWriteConcernError(error: MongoBulkWriteError): boolean {
  return error.result.getWriteConcernError() !== undefined;
}

/**
 * Recognised by shape, not `instanceof`: the driver is imported lazily (see mongo-client.ts), and
 * this module must not load it.
 */
function isBulkWriteError(error: unknown): error is MongoBulkWriteError {
  return (
    error instanceof Error &&
    error.name === 'MongoBulkWriteError' &&
    'writeErrors' in error &&
    'result' in error
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}
