import { ObjectId } from 'bson';
import { CommandError } from '../errors.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import { bsonTypeOf, formatElement, isBsonNumber } from './bson-values.ts';
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
  // Checked here, before any document is looked at: MongoDB refuses these whether the update matches
  // a document or none.
  if (operatorKeys.length > 0) checkOperators(value);
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
  checkTargets(current, spec, inserting);
  const { $setOnInsert, ...modifier } = spec;
  if (inserting && isPlainDoc($setOnInsert)) {
    modifier.$set = { ...(isPlainDoc(modifier.$set) ? modifier.$set : {}), ...$setOnInsert };
  }
  if (!inserting) rejectIdChange(modifier);
  const next = cloneDoc(current);
  if (Object.keys(modifier).length > 0) applyModifier(next, modifier, arrayFilters);
  return next;
}

/** The paths an operator update names, in its order; `$rename` names its target too. */
function updatedPaths(spec: Doc): string[] {
  const paths: string[] = [];
  for (const [operator, fields] of Object.entries(spec)) {
    if (!isPlainDoc(fields)) continue;
    for (const [path, argument] of Object.entries(fields)) {
      paths.push(path);
      if (operator === '$rename' && typeof argument === 'string') paths.push(argument);
    }
  }
  return paths;
}

/**
 * What MongoDB refuses when it parses an operator update, before it looks at any document:
 * - two operators on one path, or on a path and a path inside it (`$set` and `$setOnInsert` of `a`,
 *   `$set` of `a` and `$inc` of `a.b`): 40 ConflictingUpdateOperators, `$setOnInsert` included even
 *   when the update inserts nothing;
 * - `$inc` or `$mul` by something that is not a number: 14 TypeMismatch.
 */
function checkOperators(spec: Doc): void {
  const seen: string[][] = [];
  for (const path of updatedPaths(spec)) {
    const parts = path.split('.');
    for (const earlier of seen) {
      const shorter = earlier.length <= parts.length ? earlier : parts;
      if (shorter.every((part, index) => part === earlier[index] && part === parts[index])) {
        throw new CommandError(
          'ConflictingUpdateOperators',
          `Updating the path '${path}' would create a conflict at '${shorter.join('.')}'`,
        );
      }
    }
    seen.push(parts);
  }
  for (const operator of ['$inc', '$mul'] as const) {
    const fields = spec[operator];
    if (!isPlainDoc(fields)) continue;
    for (const [path, argument] of Object.entries(fields)) {
      if (isBsonNumber(argument)) continue;
      throw new CommandError(
        'TypeMismatch',
        `Cannot ${operator === '$inc' ? 'increment' : 'multiply'} with non-numeric argument: ${formatElement(path, argument)}`,
      );
    }
  }
}

/** Operators that create the field they name when it is missing (and so every level above it). */
const CREATING_OPERATORS = [
  '$set',
  '$setOnInsert',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$currentDate',
  '$push',
  '$addToSet',
];

/**
 * What MongoDB refuses when it applies an operator update to `doc`:
 * - a path that runs through a value that cannot hold fields (`$set: { 'a.b': 1 }` where `a` is 5,
 *   null or an array): 28 PathNotViable "Cannot create field 'b' in element {a: 5}";
 * - `$inc`/`$mul` of a field that is not a number: 14 TypeMismatch;
 * - `$push` onto, `$addToSet` to, `$pull`/`$pullAll` from a field that is not an array: 2 BadValue;
 *   `$pop` of one: 14 TypeMismatch.
 * Positional paths (`a.$`, `a.$[]`, `a.$[x]`) are checked only up to the positional part.
 */
function checkTargets(doc: Doc, spec: Doc, inserting: boolean): void {
  const idElement = formatElement('_id', doc._id);
  for (const [operator, fields] of Object.entries(spec)) {
    if (!isPlainDoc(fields)) continue;
    if (operator === '$setOnInsert' && !inserting) continue;
    const creating = CREATING_OPERATORS.includes(operator);
    for (const path of Object.keys(fields)) {
      const target = targetAt(doc, path, creating);
      if (!target) continue;
      const { field, value } = target;
      const type = bsonTypeOf(value);
      if ((operator === '$inc' || operator === '$mul') && !isBsonNumber(value)) {
        throw new CommandError(
          'TypeMismatch',
          `Cannot apply ${operator} to a value of non-numeric type. ${idElement} has the field '${field}' of non-numeric type ${type}`,
        );
      }
      if (Array.isArray(value)) continue;
      if (operator === '$push') {
        throw new CommandError(
          'BadValue',
          `The field '${field}' must be an array but is of type ${type} in document ${idElement}`,
        );
      }
      if (operator === '$addToSet') {
        throw new CommandError(
          'BadValue',
          `Cannot apply $addToSet to non-array field. Field named '${field}' has non-array type ${type}`,
        );
      }
      if (operator === '$pull' || operator === '$pullAll') {
        throw new CommandError('BadValue', 'Cannot apply $pull to a non-array value');
      }
      if (operator === '$pop') {
        throw new CommandError(
          'TypeMismatch',
          `Path '${path}' contains an element of non-array type '${type}'`,
        );
      }
    }
  }
}

/** A path part that names array elements by position (`$`, `$[]`, `$[x]`): beyond it nothing is checked. */
function isPositional(part: string): boolean {
  return part === '$' || part.startsWith('$[');
}

/**
 * The field at `path` of `doc` (its last part and value) when it exists, through documents and array
 * positions. `creating` (an operator that can create the path): each level above the field must be
 * missing, a document, or an array indexed by a number, else 28 PathNotViable, naming the part that
 * cannot be created and the element in the way. Otherwise such a level just means no field.
 */
function targetAt(doc: Doc, path: string, creating: boolean): { field: string; value: unknown } | undefined {
  const parts = path.split('.');
  let node: unknown = doc;
  let nodeName = '';
  for (const [index, part] of parts.entries()) {
    if (isPositional(part)) return undefined;
    let child: unknown;
    if (isPlainDoc(node)) child = node[part];
    else if (Array.isArray(node) && /^\d+$/.test(part)) child = node[Number(part)];
    else if (!creating) return undefined;
    else {
      throw new CommandError(
        'PathNotViable',
        `Cannot create field '${part}' in element ${formatElement(nodeName, node)}`,
      );
    }
    if (child === undefined) return undefined;
    if (index === parts.length - 1) return { field: part, value: child };
    node = child;
    nodeName = part;
  }
  return undefined;
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
