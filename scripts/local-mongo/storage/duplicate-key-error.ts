import { CommandError } from '../errors.ts';
import { formatDupKey } from './keys.ts';

/**
 * E11000, worded exactly as MongoDB words it, with the `keyPattern`/`keyValue` fields that
 * MongoDB 4.4+ adds to the write error.
 */
export class DuplicateKeyError extends CommandError {
  readonly keyPattern: Record<string, unknown>;
  readonly keyValue: Record<string, unknown>;

  constructor(
    ns: string,
    indexName: string,
    keyPattern: Record<string, unknown>,
    keyValue: Record<string, unknown>,
  ) {
    super(
      'DuplicateKey',
      `E11000 duplicate key error collection: ${ns} index: ${indexName} dup key: ${formatDupKey(keyValue)}`,
    );
    this.name = 'DuplicateKeyError';
    this.keyPattern = keyPattern;
    this.keyValue = keyValue;
  }
}
