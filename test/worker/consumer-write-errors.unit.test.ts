import { describe, expect, it } from 'vitest';
import { outcomesOfInsert } from '../../worker/src/consumer/write-errors';

/** The shape of the driver's MongoBulkWriteError that outcomesOfInsert reads (write-errors.ts isBulkWriteError). */
function bulkWriteError(fields: {
  insertedCount: number;
  writeErrors: Array<{ index: number; code: number; errmsg?: string }>;
  writeConcernError?: { code: number; errmsg: string };
}): Error {
  const error = new Error('bulk write failed');
  error.name = 'MongoBulkWriteError';
  return Object.assign(error, {
    insertedCount: fields.insertedCount,
    writeErrors: fields.writeErrors,
    result: { getWriteConcernError: () => fields.writeConcernError },
  });
}

describe('outcomesOfInsert', () => {
  // Every document inserted on the primary, but the write concern (w: majority) not met: the inserts may
  // be rolled back, so none is acked as stored (an ack loses the event for good); retried, they are
  // duplicates if they did last.
  it('retries every document when the write concern failed, though none has a write error', () => {
    const error = bulkWriteError({
      insertedCount: 2,
      writeErrors: [],
      writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' },
    });
    expect(outcomesOfInsert(2, error).map((outcome) => outcome.kind)).toEqual(['retry', 'retry']);
  });

  it('without a write concern error, the documents no write error names are stored', () => {
    const error = bulkWriteError({
      insertedCount: 1,
      writeErrors: [{ index: 1, code: 11000, errmsg: 'E11000 duplicate key error index: _id_ dup key' }],
    });
    expect(outcomesOfInsert(2, error).map((outcome) => outcome.kind)).toEqual(['stored', 'duplicate']);
  });
});
