import { Long } from 'bson';
import { CommandError } from '../errors.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { MAX_WRITE_BATCH_SIZE } from '../wire/op-codes.ts';
import { bsonTypeOf } from './bson-values.ts';
import { missingField } from './fields.ts';

/** MongoDB's name of the value's BSON type, as its messages give it ('string', 'int', 'object', ...). */
function typeName(value: unknown): string {
  return bsonTypeOf(value) ?? 'missing';
}

export function wrongType(command: string, field: string, value: unknown, expected: string): CommandError {
  return new CommandError(
    'TypeMismatch',
    `BSON field '${command}.${field}' is the wrong type '${typeName(value)}', expected type '${expected}'`,
  );
}

/** The collection named by the command's first field (`{ find: 'events', ... }`). */
export function collectionName(body: Doc, command: string): string {
  const value = body[command];
  if (typeof value !== 'string' || value.length === 0) {
    throw new CommandError('InvalidNamespace', `collection name has invalid type ${typeName(value)}`);
  }
  return value;
}

export function optionalDoc(body: Doc, command: string, field: string): Doc | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isPlainDoc(value)) throw wrongType(command, field, value, 'object');
  return value;
}

export function optionalNumber(body: Doc, command: string, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  if (value instanceof Long) return value.toNumber();
  throw wrongType(command, field, value, 'number');
}

/** A non-negative whole number, e.g. limit, skip, batchSize. */
export function optionalCount(body: Doc, command: string, field: string): number | undefined {
  const value = optionalNumber(body, command, field);
  if (value !== undefined && (value < 0 || !Number.isInteger(value))) {
    throw new CommandError(
      'BadValue',
      `BSON field '${command}.${field}' value must be >= 0, actual value '${value}'`,
    );
  }
  return value;
}

export function optionalBool(body: Doc, command: string, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  throw wrongType(command, field, value, 'bool');
}

export function requiredDocArray(body: Doc, command: string, field: string): Doc[] {
  const value = body[field];
  if (value === undefined) throw missingField(`${command}.${field}`);
  if (!Array.isArray(value)) throw wrongType(command, field, value, 'array');
  return value.map((element, index) => {
    if (!isPlainDoc(element)) throw wrongType(command, `${field}.${index}`, element, 'object');
    return element;
  });
}

/**
 * The statements of an insert/update/delete (`documents`, `updates`, `deletes`): 1 to 100,000 of them,
 * else InvalidLength (16) for the whole command, as MongoDB answers an empty or oversized batch.
 */
export function requiredWriteStatements(body: Doc, command: string, field: string): Doc[] {
  const statements = requiredDocArray(body, command, field);
  if (statements.length === 0 || statements.length > MAX_WRITE_BATCH_SIZE) {
    throw new CommandError(
      'InvalidLength',
      `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got ${statements.length} operations.`,
    );
  }
  return statements;
}
