import type { Query } from 'mingo/query';
import { compileFilter } from '../commands/query.ts';
import { CommandError } from '../errors.ts';
import type { Doc } from '../types.ts';
import { DuplicateKeyError } from './duplicate-key-error.ts';
import { canonicalKey, hasPath, valuesAtPath } from './keys.ts';

/** One index key of one document: the lookup string and the field values it was made from. */
interface IndexEntry {
  key: string;
  keyValue: Record<string, unknown>;
}

/**
 * The entries of a secondary unique index (`_id` is handled by the collection's own map).
 * Sparse and partial indexes skip the documents MongoDB would skip.
 */
export class UniqueIndex {
  readonly name: string;
  readonly keyPattern: Doc;
  private readonly fields: Array<{ name: string; parts: string[] }>;
  private readonly sparse: boolean;
  private readonly partial: Query | undefined;
  /** index key → key of the document holding it */
  private readonly entries = new Map<string, string>();

  constructor(
    private readonly ns: string,
    spec: { name: string; key: Doc; sparse?: boolean; partialFilterExpression?: Doc },
  ) {
    this.name = spec.name;
    this.keyPattern = spec.key;
    this.fields = Object.keys(spec.key).map((name) => ({ name, parts: name.split('.') }));
    this.sparse = spec.sparse === true;
    this.partial = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined;
  }

  /** Throws DuplicateKeyError if `doc` would collide with a document other than `docKey`. */
  check(doc: Doc, docKey: string): void {
    for (const entry of this.entriesOf(doc)) {
      const holder = this.entries.get(entry.key);
      if (holder !== undefined && holder !== docKey) {
        throw new DuplicateKeyError(this.ns, this.name, this.keyPattern, entry.keyValue);
      }
    }
  }

  add(doc: Doc, docKey: string): void {
    for (const entry of this.entriesOf(doc)) this.entries.set(entry.key, docKey);
  }

  remove(doc: Doc, docKey: string): void {
    for (const entry of this.entriesOf(doc)) {
      if (this.entries.get(entry.key) === docKey) this.entries.delete(entry.key);
    }
  }

  private entriesOf(doc: Doc): IndexEntry[] {
    if (this.partial && !this.partial.test(doc)) return [];
    if (this.sparse && !this.fields.some((field) => hasPath(doc, field.parts))) return [];
    let combos: IndexEntry[] = [{ key: '', keyValue: {} }];
    let arrayFields = 0;
    for (const field of this.fields) {
      const values = valuesAtPath(doc, field.parts);
      if (values.length > 1) arrayFields += 1;
      if (arrayFields > 1) {
        throw new CommandError('BadValue', `cannot index parallel arrays in index ${this.name}`);
      }
      combos = combos.flatMap((combo) =>
        values.map((value) => ({
          key: `${combo.key}\u0000${canonicalKey(value)}`,
          keyValue: { ...combo.keyValue, [field.name]: value },
        })),
      );
    }
    return combos;
  }
}
