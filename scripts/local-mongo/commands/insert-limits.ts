import { BSON, DBRef } from 'bson';
import { CommandError } from '../errors.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { MAX_BSON_OBJECT_SIZE } from '../wire/op-codes.ts';

/** Levels of nesting a stored document may have, the top level included (MongoDB: 200 - 20). */
export const MAX_STORED_DEPTH = 180;

/**
 * What MongoDB checks before it stores a document (`fixDocumentForInsert`), as a per-document error,
 * so an unordered insert still stores the documents beside it:
 * - over 16 MiB: BadValue (2) "object to insert too large". The driver refuses such a document
 *   itself (it reads the limit from hello), but a command built by hand reaches the server;
 * - nested deeper than 180 levels: Overflow (15).
 * The size is that of the document as this server re-encodes it, which equals the size sent for
 * everything the driver sends except 64-bit integers small enough for 32 bits.
 */
export function checkInsertable(doc: Doc): void {
  const size = BSON.calculateObjectSize(doc);
  if (size > MAX_BSON_OBJECT_SIZE) {
    throw new CommandError(
      'BadValue',
      `object to insert too large. size in bytes: ${size}, max size: ${MAX_BSON_OBJECT_SIZE}`,
    );
  }
  if (nestedDeeperThan(doc, MAX_STORED_DEPTH)) {
    throw new CommandError(
      'Overflow',
      `cannot insert document because it exceeds ${MAX_STORED_DEPTH} levels of nesting`,
    );
  }
}

/** The values inside a BSON object or array (a DBRef is an object on the wire), else undefined. */
function childrenOf(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (isPlainDoc(value)) return Object.values(value);
  if (value instanceof DBRef) return [value.collection, value.oid, value.db, ...Object.values(value.fields)];
  return undefined;
}

/**
 * Whether `doc` (level 1) holds a non-empty object or array below level `limit`; empty ones do not
 * count, as in MongoDB. Iterative, so no nesting the decoder accepted can overflow the stack here.
 */
function nestedDeeperThan(doc: Doc, limit: number): boolean {
  const stack: Array<{ children: unknown[]; level: number }> = [{ children: Object.values(doc), level: 1 }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    for (const child of frame.children) {
      const grandchildren = childrenOf(child);
      if (grandchildren === undefined || grandchildren.length === 0) continue;
      if (frame.level >= limit) return true;
      stack.push({ children: grandchildren, level: frame.level + 1 });
    }
  }
  return false;
}
