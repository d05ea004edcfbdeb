import { CommandError } from '../errors.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { collectionName, optionalBool, requiredWriteStatements, wrongType } from './args.ts';
import type { CommandHandler } from './context.ts';
import { checkWriteStatements } from './fields.ts';
import { runFind } from './query.ts';
import { writeErrorOf, writeReply } from './write-errors.ts';

/**
 * What MongoDB's parser refuses in `deletes`, for the whole command before any statement runs: an
 * unknown field (40415), no `q` or no `limit` (40414), a `q` that is not a document (14), a `limit`
 * other than 0 or 1 (9).
 */
function checkDeleteStatements(statements: readonly Doc[]): void {
  checkWriteStatements('delete', statements);
  for (const statement of statements) {
    if (statement.q !== null && !isPlainDoc(statement.q))
      throw wrongType('delete', 'deletes.q', statement.q, 'object');
    const limit = typeof statement.limit === 'number' ? statement.limit : Number(statement.limit);
    if (limit !== 0 && limit !== 1) {
      throw new CommandError(
        'FailedToParse',
        `The limit field in delete objects must be 0 or 1. Got ${String(statement.limit)}`,
      );
    }
  }
}

/** `delete`: deleteOne (`limit: 1`) and deleteMany (`limit: 0`) statements. */
export const deleteCommand: CommandHandler = (body, context) => {
  const name = collectionName(body, 'delete');
  const statements = requiredWriteStatements(body, 'delete', 'deletes');
  checkDeleteStatements(statements);
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
