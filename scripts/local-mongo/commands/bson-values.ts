import { EJSON, ObjectId } from 'bson';
import { isPlainDoc } from '../types.ts';

/**
 * BSON type codes by MongoDB's alias (`$type`, and the type names its error messages use). `number`
 * is not a type of its own: `$type: 'number'` matches double, int, long and decimal.
 */
export const BSON_TYPE_CODES = {
  double: 1,
  string: 2,
  object: 3,
  array: 4,
  binData: 5,
  undefined: 6,
  objectId: 7,
  bool: 8,
  date: 9,
  null: 10,
  regex: 11,
  dbPointer: 12,
  javascript: 13,
  symbol: 14,
  javascriptWithScope: 15,
  int: 16,
  timestamp: 17,
  long: 18,
  decimal: 19,
  minKey: -1,
  maxKey: 127,
} as const;

export type BsonTypeName = keyof typeof BSON_TYPE_CODES;

const NAMES_BY_CODE = new Map<number, BsonTypeName>(
  Object.entries(BSON_TYPE_CODES).map(([name, code]) => [code, name as BsonTypeName]),
);

export const NUMERIC_TYPES: ReadonlySet<BsonTypeName> = new Set(['double', 'int', 'long', 'decimal']);

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The `_bsontype` of the bson package's value classes, mapped to the BSON type they are sent as. */
const CLASS_TYPES: Record<string, BsonTypeName> = {
  ObjectId: 'objectId',
  ObjectID: 'objectId',
  Binary: 'binData',
  Long: 'long',
  Int32: 'int',
  Double: 'double',
  Decimal128: 'decimal',
  Timestamp: 'timestamp',
  MinKey: 'minKey',
  MaxKey: 'maxKey',
  BSONSymbol: 'symbol',
  Symbol: 'symbol',
  BSONRegExp: 'regex',
  DBRef: 'object',
  DBPointer: 'dbPointer',
};

/**
 * The BSON type a stored value has, as a client would read it back: a JavaScript number is an int
 * when the bson package encodes it as one (a safe integer within 32 bits, not -0), else a double.
 * Undefined (a missing field) has none.
 */
export function bsonTypeOf(value: unknown): BsonTypeName | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0) && value >= INT32_MIN && value <= INT32_MAX
        ? 'int'
        : 'double';
    case 'bigint':
      return 'long';
    default:
      break;
  }
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  const bsonType = (value as { _bsontype?: unknown })._bsontype;
  if (typeof bsonType === 'string') {
    if (bsonType === 'Code')
      return (value as { scope?: unknown }).scope ? 'javascriptWithScope' : 'javascript';
    return CLASS_TYPES[bsonType] ?? 'object';
  }
  return 'object';
}

/** MongoDB's name of a BSON type code (`typeName` in its messages), e.g. 2 → 'string'. */
export function bsonTypeName(code: number): BsonTypeName | undefined {
  return NAMES_BY_CODE.get(code);
}

/** Whether `$inc` and `$mul` can use the value: a double, int, long or decimal. */
export function isBsonNumber(value: unknown): boolean {
  const type = bsonTypeOf(value);
  return type !== undefined && NUMERIC_TYPES.has(type);
}

/**
 * A value as MongoDB's error messages show one (`BSONElement::toString`): strings quoted, documents
 * as `{ a: 1 }`, arrays as `[ 1, 2 ]`, ObjectId('…'), new Date(ms). Numbers print as JavaScript
 * does, so a double with no fraction shows as `2`, where MongoDB would show `2.0`.
 */
export function formatBsonValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value)) {
    return value.length === 0 ? '[]' : `[ ${value.map((item) => formatBsonValue(item)).join(', ')} ]`;
  }
  if (isPlainDoc(value)) {
    const entries = Object.entries(value).map(([key, item]) => `${key}: ${formatBsonValue(item)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (value instanceof RegExp) return String(value);
  return EJSON.stringify(value, { relaxed: true });
}

/** `{name: value}` as MongoDB prints one element in a message, e.g. `{_id: 2}` or `{a: "x"}`. */
export function formatElement(name: string, value: unknown): string {
  return `{${name}: ${formatBsonValue(value)}}`;
}
