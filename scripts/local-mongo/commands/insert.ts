import { ObjectId } from 'bson';
import type { Doc } from '../types.ts';
import { collectionName, optionalBool, requiredWriteStatements } from './args.ts';
import type { CommandHandler } from './context.ts';
import { checkInsertable } from './insert-limits.ts';
import { writeErrorOf, writeReply } from './write-errors.ts';

/** MongoDB stores `_id` first and generates an ObjectId when the client sent none. */
export function withIdFirst(doc: Doc): Doc {
  const { _id, ...rest } = doc;
  return { _id: '_id' in doc ? _id : new ObjectId(), ...rest };
}

/**
 * `insert`: ordered stops at the first failing document, unordered tries them all; each
 * failure is a `writeErrors` entry with the document's index (11000 for duplicates, 2 for a
 * document over 16 MiB, 15 for one nested too deep).
 */
export const insert: CommandHandler = (body, context) => {
  const name = collectionName(body, 'insert');
  const documents = requiredWriteStatements(body, 'insert', 'documents');
  const ordered = optionalBool(body, 'insert', 'ordered') ?? true;
  const collection = context.storage.ensureCollection(context.db, name);
  let inserted = 0;
  const writeErrors: Doc[] = [];
  for (const [index, doc] of documents.entries()) {
    try {
      checkInsertable(doc);
      collection.insert(withIdFirst(doc));
      inserted += 1;
    } catch (error) {
      writeErrors.push(writeErrorOf(index, error));
      if (ordered) break;
    }
  }
  return writeReply({ n: inserted }, writeErrors);
};
