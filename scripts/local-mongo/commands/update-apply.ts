import { ObjectId } from 'bson';
import { CommandError } from '../errors.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { applyModifier, cloneDoc, runPipeline } from './query.ts';

/** The three forms of an update's `u`: operators, a replacement document, or a pipeline. */
export type UpdateSpec = Doc | Doc[];

export function parseUpdateSpec(value: unknown, where: string): UpdateSpec {
  if (Array.isArray(value)) {
    if (!value.every(isPlainDoc))
      throw new CommandError('FailedToParse', `${where}: pipeline stages must be objects`);
    return value;
  }
  if (!isPlainDoc(value)) throw new CommandError('FailedToParse', `${where} must be an object or a pipeline`);
  const operatorKeys = Object.keys(value).filter((key) => key.startsWith('$'));
  if (operatorKeys.length > 0 && operatorKeys.length < Object.keys(value).length) {
    throw new CommandError(
      'FailedToParse',
      `${where}: an update cannot mix operators ($set, $inc, ...) with plain fields of a replacement document`,
    );
  }
  return value;
}

function isOperatorUpdate(spec: UpdateSpec): boolean {
  return !Array.isArray(spec) && Object.keys(spec).some((key) => key.startsWith('$'));
}

/**
 * The new version of `current` after `spec`. `$setOnInsert` applies only when `inserting`
 * (mingo has no such operator, so it is folded into `$set` here). `_id` must not change;
 * the collection rejects a version whose `_id` differs.
 */
export function applyUpdate(
  current: Doc,
  spec: UpdateSpec,
  arrayFilters: Doc[] | undefined,
  inserting: boolean,
): Doc {
  if (Array.isArray(spec)) {
    const [next] = runPipeline([current], spec, () => []);
    if (!next) throw new CommandError('BadValue', 'update pipeline removed the document');
    return next;
  }
  if (!isOperatorUpdate(spec)) {
    const { _id, ...fields } = spec;
    return { _id: '_id' in spec ? _id : current._id, ...fields };
  }
  const { $setOnInsert, ...modifier } = spec;
  if (inserting && isPlainDoc($setOnInsert)) {
    modifier.$set = { ...(isPlainDoc(modifier.$set) ? modifier.$set : {}), ...$setOnInsert };
  }
  if (!inserting) rejectIdChange(modifier);
  const next = cloneDoc(current);
  if (Object.keys(modifier).length > 0) applyModifier(next, modifier, arrayFilters);
  return next;
}

/** MongoDB answers an operator aimed at `_id` of an existing document with ImmutableField (66). */
function rejectIdChange(modifier: Doc): void {
  for (const fields of Object.values(modifier)) {
    if (!isPlainDoc(fields)) continue;
    for (const path of Object.keys(fields)) {
      if (path === '_id' || path.startsWith('_id.')) {
        throw new CommandError(
          'ImmutableField',
          "Performing an update on the path '_id' would modify the immutable field '_id'",
        );
      }
    }
  }
}

/**
 * The document an upsert inserts: the equality fields of the filter (`{ a: 1, 'b.c': 2 }`,
 * `$eq`, and inside `$and`), then the update applied, with `_id` first and generated when
 * neither the filter nor the update gave one.
 */
export function upsertDocument(filter: Doc, spec: UpdateSpec, arrayFilters: Doc[] | undefined): Doc {
  const seed: Doc = isOperatorUpdate(spec) || Array.isArray(spec) ? seedFromFilter(filter) : {};
  if (!isOperatorUpdate(spec) && !Array.isArray(spec)) {
    const filterSeed = seedFromFilter(filter);
    if ('_id' in filterSeed && !('_id' in spec)) seed._id = filterSeed._id;
  }
  const next = applyUpdate(seed, spec, arrayFilters, true);
  const { _id, ...rest } = next;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}

function seedFromFilter(filter: Doc): Doc {
  const seed: Doc = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const clause of value) if (isPlainDoc(clause)) Object.assign(seed, seedFromFilter(clause));
      continue;
    }
    if (key.startsWith('$')) continue;
    if (isPlainDoc(value) && Object.keys(value).some((operator) => operator.startsWith('$'))) {
      if ('$eq' in value) setPath(seed, key, value.$eq);
      continue;
    }
    setPath(seed, key, value);
  }
  return seed;
}

function setPath(target: Doc, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const child = node[part];
    if (isPlainDoc(child)) node = child;
    else {
      const created: Doc = {};
      node[part] = created;
      node = created;
    }
  }
  node[parts[parts.length - 1] ?? dotted] = value;
}
