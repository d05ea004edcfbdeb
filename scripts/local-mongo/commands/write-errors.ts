import { CommandError } from '../errors.ts';
import { DuplicateKeyError } from '../storage/duplicate-key-error.ts';
import type { Doc } from '../types.ts';

/**
 * One entry of a write command's `writeErrors`, shaped as MongoDB shapes it; the driver reads
 * `index`, `code` and `errmsg` to build MongoBulkWriteError. Non-command errors are rethrown.
 */
export function writeErrorOf(index: number, error: unknown): Doc {
  if (!(error instanceof CommandError)) throw error;
  const entry: Doc = { index, code: error.code };
  if (error instanceof DuplicateKeyError) {
    entry.keyPattern = error.keyPattern;
    entry.keyValue = error.keyValue;
  }
  entry.errmsg = error.message;
  return entry;
}

/** The reply of insert/update/delete: `writeErrors` only when there are some. */
export function writeReply(fields: Doc, writeErrors: Doc[]): Doc {
  return writeErrors.length > 0 ? { ...fields, writeErrors } : fields;
}
