/**
 * CSV records (RFC 4180) for the Online Retail reader: one line is one record unless a quoted field
 * holds line breaks (product descriptions exported from shop systems often do).
 */

/** Parses one record: its fields, `open` when a quoted field is still open at the end, or `malformed`. */
export function parseCsvRecord(text: string, delimiter = ','): string[] | 'open' | 'malformed' {
  const fields: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return 'open';
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i < text.length && text[i] !== delimiter) return 'malformed';
      i += 1;
    } else {
      const next = text.indexOf(delimiter, i);
      const end = next < 0 ? text.length : next;
      fields.push(text.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

/**
 * Splits one CSV line (RFC 4180 quoting). Returns null when a quote is not closed or text follows a
 * closing quote, so the caller can count the row as malformed.
 */
export function splitCsvLine(line: string, delimiter = ','): string[] | null {
  const parsed = parseCsvRecord(line, delimiter);
  return typeof parsed === 'string' ? null : parsed;
}

/** One record: the line it starts on, and its fields (null: malformed, counted by the caller). */
export interface CsvRecord {
  line: number;
  fields: string[] | null;
}

/** Lines a quoted field may span before its opening line is judged a stray quote. */
export const MAX_RECORD_LINES = 20;

/**
 * Groups lines into records. A record spanning lines is accepted only when it parses as exactly
 * `columns` fields; otherwise (a stray quote, never closed or closed by a later row's quote) its
 * first line alone is malformed and the lines after it are read again as records of their own, so
 * one bad quote costs one row, not the rows after it. Blank lines between records are skipped.
 */
export async function* csvRecords(
  lines: AsyncIterable<[number, string]>,
  delimiter: string,
  columns: number,
): AsyncGenerator<CsvRecord> {
  let held: Array<[number, string]> = [];
  function* feed(entry: [number, string]): Generator<CsvRecord> {
    const pending = [entry];
    for (let next = pending.shift(); next; next = pending.shift()) {
      if (held.length === 0 && next[1].trim() === '') continue;
      held.push(next);
      const first = held[0]?.[0] ?? next[0];
      const parsed = parseCsvRecord(held.map(([, text]) => text).join('\n'), delimiter);
      if (parsed === 'open' && held.length < MAX_RECORD_LINES) continue;
      if (held.length === 1 || (typeof parsed !== 'string' && parsed.length === columns)) {
        yield { line: first, fields: typeof parsed === 'string' ? null : parsed };
      } else {
        yield { line: first, fields: null };
        pending.unshift(...held.slice(1));
      }
      held = [];
    }
  }
  for await (const entry of lines) {
    // The common case, a record on one line, without the bookkeeping below.
    if (held.length === 0) {
      const [line, text] = entry;
      if (text.trim() === '') continue;
      const parsed = parseCsvRecord(text, delimiter);
      if (parsed !== 'open') {
        yield { line, fields: parsed === 'malformed' ? null : parsed };
        continue;
      }
    }
    yield* feed(entry);
  }
  // The file ended inside a quoted field: the opening line is malformed, the rest are read again.
  while (held.length > 0) {
    const [[line], ...rest] = held as [[number, string], ...Array<[number, string]>];
    held = [];
    yield { line, fields: null };
    for (const entry of rest) yield* feed(entry);
  }
}
