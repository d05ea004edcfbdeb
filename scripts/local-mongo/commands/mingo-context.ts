import { Context } from 'mingo/core';
import { type Iterator, Lazy } from 'mingo/lazy';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import type { AnyObject, Options } from 'mingo/types';
import { unique } from 'mingo/util';
import { CommandError } from '../errors.ts';
import { type Doc, isPlainDoc } from '../types.ts';
import {
  BSON_TYPE_CODES,
  type BsonTypeName,
  bsonTypeName,
  bsonTypeOf,
  NUMERIC_TYPES,
} from './bson-values.ts';

/**
 * mingo's operators, with the ones whose answers differ from MongoDB's replaced:
 * - `$type` (query) matches an array holding an element of the type, as MongoDB does for every leaf
 *   predicate (`{ anonymousId: { $type: 'string' } }` matches `['x', 'y']`); mingo tests only the
 *   value itself. It also knows every BSON type and refuses an unknown alias (2 BadValue).
 * - `$push` and `$addToSet` (accumulators) skip a missing value, as MongoDB does (a `$group` over
 *   documents without the field gives `[]`); mingo adds `null` for each.
 * - `$project` (stage) returns the fields it keeps in the order of the input document (so `_id` first)
 *   and the fields it computes after them, as MongoDB does; mingo follows the order of the projection.
 */

/** A type test per `$type` argument: an alias, a type code, `number`, or a list of those. */
function typeTest(argument: unknown): (value: unknown) => boolean {
  const wanted = new Set<BsonTypeName>();
  const add = (one: unknown): void => {
    if (one === 'number') {
      for (const name of NUMERIC_TYPES) wanted.add(name);
      return;
    }
    if (typeof one === 'string') {
      if (!Object.hasOwn(BSON_TYPE_CODES, one)) {
        throw new CommandError('BadValue', `Unknown type name alias: ${one}`);
      }
      wanted.add(one as BsonTypeName);
      return;
    }
    if (typeof one === 'number') {
      const name = Number.isInteger(one) ? bsonTypeName(one) : undefined;
      if (!name) throw new CommandError('BadValue', `Invalid numerical type code: ${one}`);
      wanted.add(name);
      return;
    }
    throw new CommandError('TypeMismatch', 'type must be represented as a number or a string');
  };
  if (Array.isArray(argument)) {
    for (const one of argument) add(one);
  } else add(argument);
  return (value) => {
    const type = bsonTypeOf(value);
    return type !== undefined && wanted.has(type);
  };
}

/**
 * The values a dotted path reaches, as MongoDB's matcher walks it: through documents, and through an
 * array into each document it holds (and to the element a numeric part names). Missing values are left out.
 */
function valuesAtPath(value: unknown, parts: readonly string[], from = 0): unknown[] {
  if (value === undefined) return [];
  if (from === parts.length) return [value];
  const part = parts[from] ?? '';
  if (isPlainDoc(value)) return valuesAtPath(value[part], parts, from + 1);
  if (!Array.isArray(value)) return [];
  const found: unknown[] = [];
  if (/^\d+$/.test(part)) found.push(...valuesAtPath(value[Number(part)], parts, from + 1));
  for (const element of value) {
    if (isPlainDoc(element)) found.push(...valuesAtPath(element, parts, from));
  }
  return found;
}

const $type = (selector: string, argument: unknown, _options: Options) => {
  const matches = typeTest(argument);
  const parts = selector.split('.');
  return (doc: AnyObject): boolean =>
    valuesAtPath(doc, parts).some(
      (value) => matches(value) || (Array.isArray(value) && value.some((element) => matches(element))),
    );
};

/** The values of `expr` over `coll`, a missing one left out (mingo's own `$push` adds null for it). */
const $push = (coll: unknown[], expr: unknown, options: Options): unknown[] => {
  if (expr === null || expr === undefined) return accumulatorOperators.$push(coll, expr, options);
  // Evaluated inside a document so a missing value stays undefined instead of becoming null.
  const wrapped = accumulatorOperators.$push(coll, { value: expr }, options) as Array<{ value?: unknown }>;
  return wrapped.filter((entry) => entry.value !== undefined).map((entry) => entry.value);
};

const $addToSet = (coll: unknown[], expr: unknown, options: Options): unknown[] =>
  unique($push(coll, expr, options));

/** Projection operators of `find` that keep a field where it is rather than compute a new one. */
const IN_PLACE_OPERATORS = new Set(['$slice', '$elemMatch']);

/** Whether a projection value computes its field (an expression) rather than keeping or dropping one. */
function isComputed(value: unknown): boolean {
  if (typeof value === 'number' || typeof value === 'boolean') return false;
  if (isPlainDoc(value)) {
    const operators = Object.keys(value).filter((key) => key.startsWith('$'));
    return operators.length > 0 && !operators.every((operator) => IN_PLACE_OPERATORS.has(operator));
  }
  return true;
}

/** The part of a projection that applies below `field` (`{ field: {...} }` and `'field.x'` entries). */
function projectionBelow(projection: Doc, field: string): Doc {
  const below: Doc = {};
  for (const [key, value] of Object.entries(projection)) {
    if (key === field && isPlainDoc(value) && !isComputed(value)) Object.assign(below, value);
    else if (key.startsWith(`${field}.`)) below[key.slice(field.length + 1)] = value;
  }
  return below;
}

/**
 * `projected` (what projecting `input` with `projection` gave) with its fields in MongoDB's order: the
 * fields taken from the input in the input's order, at every level, then the computed ones.
 */
export function inInputOrder(projected: unknown, input: unknown, projection: Doc): unknown {
  if (isPlainDoc(projected) && isPlainDoc(input)) {
    const ordered: Doc = {};
    for (const field of Object.keys(input)) {
      if (!Object.hasOwn(projected, field)) continue;
      if (Object.hasOwn(projection, field) && isComputed(projection[field])) continue;
      ordered[field] = inInputOrder(projected[field], input[field], projectionBelow(projection, field));
    }
    for (const [field, value] of Object.entries(projected)) {
      if (!Object.hasOwn(ordered, field)) ordered[field] = value;
    }
    return ordered;
  }
  if (Array.isArray(projected) && Array.isArray(input)) {
    // An inclusion drops the scalars of an array; an exclusion keeps every element.
    const sources =
      projected.length === input.length
        ? input
        : input.filter((element) => isPlainDoc(element) || Array.isArray(element));
    if (sources.length !== projected.length) return projected;
    return projected.map((element, index) => inInputOrder(element, sources[index], projection));
  }
  return projected;
}

const $project = (coll: Iterator, expr: AnyObject, options: Options): Iterator => {
  const inputs = coll.collect<Doc>();
  const outputs = pipelineOperators.$project(Lazy(inputs), expr, options).collect<Doc>();
  return Lazy(outputs.map((output, index) => inInputOrder(output, inputs[index], expr as Doc)));
};

/** The operators every query, projection and pipeline of this server runs with. */
export const MINGO_CONTEXT = Context.init({
  accumulator: { ...accumulatorOperators, $push, $addToSet },
  expression: { ...expressionOperators },
  pipeline: { ...pipelineOperators, $project },
  projection: { ...projectionOperators },
  query: { ...queryOperators, $type },
  window: { ...windowOperators },
});
