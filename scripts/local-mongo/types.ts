/** A document as the server holds it: what `bson` deserializes (ObjectId, Date, Binary, ... as values). */
export type Doc = Record<string, unknown>;

/** True for a plain sub-document (not an array, Date, ObjectId or other BSON value class). */
export function isPlainDoc(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
