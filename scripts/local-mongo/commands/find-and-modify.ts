import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';
import { collectionName, optionalBool, optionalDoc } from './args.ts';
import type { CommandHandler } from './context.ts';
import { runFind } from './query.ts';
import { applyUpdate, parseUpdateSpec, upsertDocument } from './update-apply.ts';

function project(doc: Doc | null, fields: Doc | undefined): Doc | null {
  if (!doc || !fields) return doc;
  return runFind([doc], { filter: {}, projection: fields })[0] ?? null;
}

/** `findAndModify`: findOneAndUpdate / findOneAndReplace / findOneAndDelete. */
export const findAndModify: CommandHandler = (body, context) => {
  const name = collectionName(body, 'findAndModify');
  const filter = optionalDoc(body, 'findAndModify', 'query') ?? {};
  const sort = optionalDoc(body, 'findAndModify', 'sort');
  const fields = optionalDoc(body, 'findAndModify', 'fields');
  const remove = optionalBool(body, 'findAndModify', 'remove') === true;
  const returnNew = optionalBool(body, 'findAndModify', 'new') === true;
  const upsert = optionalBool(body, 'findAndModify', 'upsert') === true;
  if (remove === (body.update !== undefined)) {
    throw new CommandError('FailedToParse', 'Either an update or remove=true must be specified');
  }
  const arrayFilters = Array.isArray(body.arrayFilters) ? (body.arrayFilters as Doc[]) : undefined;
  const collection = context.storage.ensureCollection(context.db, name);
  const [current] = runFind(collection.candidates(filter), { filter, sort, limit: 1 });
  if (remove) {
    if (current) collection.remove(current);
    return { lastErrorObject: { n: current ? 1 : 0 }, value: project(current ?? null, fields) };
  }
  const spec = parseUpdateSpec(body.update, 'findAndModify.update');
  if (current) {
    const next = applyUpdate(current, spec, arrayFilters, false);
    collection.replace(current, next);
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: project(returnNew ? next : current, fields),
    };
  }
  if (!upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
  const inserted = upsertDocument(filter, spec, arrayFilters);
  collection.insert(inserted);
  return {
    lastErrorObject: { n: 1, updatedExisting: false, upserted: inserted._id },
    value: returnNew ? project(inserted, fields) : null,
  };
};
