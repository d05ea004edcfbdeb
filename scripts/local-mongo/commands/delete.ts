import { type Doc, isPlainDoc } from '../types.ts';
import { collectionName, optionalBool, requiredWriteStatements } from './args.ts';
import type { CommandHandler } from './context.ts';
import { runFind } from './query.ts';
import { writeErrorOf, writeReply } from './write-errors.ts';

/** `delete`: deleteOne (`limit: 1`) and deleteMany (`limit: 0`) statements. */
export const deleteCommand: CommandHandler = (body, context) => {
  const name = collectionName(body, 'delete');
  const statements = requiredWriteStatements(body, 'delete', 'deletes');
  const ordered = optionalBool(body, 'delete', 'ordered') ?? true;
  const collection = context.storage.getCollection(context.db, name);
  let n = 0;
  const writeErrors: Doc[] = [];
  if (!collection) return { n };
  for (const [index, statement] of statements.entries()) {
    try {
      const filter = isPlainDoc(statement.q) ? statement.q : {};
      const limit = statement.limit === 1 ? 1 : undefined;
      for (const doc of runFind(collection.candidates(filter), { filter, limit })) {
        collection.remove(doc);
        n += 1;
      }
    } catch (error) {
      writeErrors.push(writeErrorOf(index, error));
      if (ordered) break;
    }
  }
  return writeReply({ n }, writeErrors);
};
