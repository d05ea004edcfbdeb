import { BSON } from 'bson';
import { CommandError } from '../errors.ts';
import type { Collection } from '../storage/collection.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { collectionName, optionalBool, requiredWriteStatements, wrongType } from './args.ts';
import type { CommandHandler } from './context.ts';
import { checkWriteStatements } from './fields.ts';
import { runFind } from './query.ts';
import { applyUpdate, parseUpdateSpec, upsertDocument } from './update-apply.ts';
import { writeErrorOf, writeReply } from './write-errors.ts';

/** What one update statement did. */
interface StatementResult {
  matched: number;
  modified: number;
  upsertedId?: unknown;
}

function sameDocument(a: Doc, b: Doc): boolean {
  return Buffer.compare(BSON.serialize(a), BSON.serialize(b)) === 0;
}

function arrayFiltersOf(statement: Doc): Doc[] | undefined {
  const value = statement.arrayFilters;
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(isPlainDoc)) {
    throw new CommandError(
      'TypeMismatch',
      "BSON field 'update.updates.arrayFilters' must be an array of objects",
    );
  }
  return value;
}

/** Runs one `{ q, u, upsert, multi, arrayFilters }` statement (checked by checkUpdateStatements) against the collection. */
export function runUpdateStatement(collection: Collection, statement: Doc): StatementResult {
  const filter = isPlainDoc(statement.q) ? statement.q : {};
  const spec = parseUpdateSpec(statement.u, 'update.updates.u');
  const arrayFilters = arrayFiltersOf(statement);
  const multi = statement.multi === true;
  if (multi && !Array.isArray(spec) && !Object.keys(spec).some((key) => key.startsWith('$'))) {
    throw new CommandError('FailedToParse', 'multi update is not supported for replacement-style update');
  }
  const matches = runFind(collection.candidates(filter), { filter, limit: multi ? undefined : 1 });
  if (matches.length === 0) {
    if (statement.upsert !== true) return { matched: 0, modified: 0 };
    const inserted = upsertDocument(filter, spec, arrayFilters);
    collection.insert(inserted);
    return { matched: 0, modified: 0, upsertedId: inserted._id };
  }
  let modified = 0;
  for (const current of matches) {
    const next = applyUpdate(current, spec, arrayFilters, false);
    if (sameDocument(current, next)) continue;
    collection.replace(current, next);
    modified += 1;
  }
  return { matched: matches.length, modified };
}

/**
 * What MongoDB's parser refuses in `updates`, for the whole command before any statement runs: an
 * unknown field (40415), no `q` or no `u` (40414; a statement without `q` is not "update everything"),
 * a `q` that is not a document (14), a `u` that is neither a document nor a pipeline (9).
 */
function checkUpdateStatements(statements: readonly Doc[]): void {
  checkWriteStatements('update', statements);
  for (const statement of statements) {
    if (statement.q !== null && !isPlainDoc(statement.q))
      throw wrongType('update', 'updates.q', statement.q, 'object');
    if (!isPlainDoc(statement.u) && !Array.isArray(statement.u)) {
      throw new CommandError('FailedToParse', 'Update argument must be either an object or an array');
    }
  }
}

/** `update`: updateOne/updateMany/replaceOne, with upserts reported as MongoDB reports them. */
export const update: CommandHandler = (body, context) => {
  const name = collectionName(body, 'update');
  const statements = requiredWriteStatements(body, 'update', 'updates');
  checkUpdateStatements(statements);
  const ordered = optionalBool(body, 'update', 'ordered') ?? true;
  const collection = context.storage.ensureCollection(context.db, name);
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const writeErrors: Doc[] = [];
  for (const [index, statement] of statements.entries()) {
    try {
      const result = runUpdateStatement(collection, statement);
      if (result.upsertedId !== undefined) {
        upserted.push({ index, _id: result.upsertedId });
        n += 1;
      } else {
        n += result.matched;
        nModified += result.modified;
      }
    } catch (error) {
      writeErrors.push(writeErrorOf(index, error));
      if (ordered) break;
    }
  }
  return writeReply(upserted.length > 0 ? { n, nModified, upserted } : { n, nModified }, writeErrors);
};
