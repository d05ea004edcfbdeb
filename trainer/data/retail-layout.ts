/**
 * The layout of an Online Retail-style CSV, read from its header: which column holds which field
 * (by name, in any order, other columns ignored), the delimiter, and how numbers are written.
 */

export type RetailField =
  | 'invoice'
  | 'code'
  | 'description'
  | 'quantity'
  | 'date'
  | 'price'
  | 'customer'
  | 'country'
  | 'currency';

/**
 * Accepted header names per field, the first being the UCI Online Retail one. The second names are
 * UCI Online Retail II's (`Invoice`, `Price`, `Customer ID`). Compared without case, spaces, `_`, `-`.
 */
export const RETAIL_COLUMNS: Record<RetailField, readonly string[]> = {
  invoice: ['InvoiceNo', 'Invoice'],
  code: ['StockCode'],
  description: ['Description'],
  quantity: ['Quantity'],
  date: ['InvoiceDate'],
  price: ['UnitPrice', 'Price'],
  customer: ['CustomerID', 'Customer ID'],
  country: ['Country'],
  currency: ['Currency', 'Currency Code'],
};

/**
 * Without a title the product id stands in; without a country the store is `unknown`; without a
 * currency the prices are in the reader's (`--currency`, else GBP, the UCI file's).
 */
const OPTIONAL: ReadonlySet<RetailField> = new Set<RetailField>(['description', 'country', 'currency']);
const DELIMITERS = [',', ';', '\t'] as const;

export interface RetailLayout {
  delimiter: string;
  /** Columns a row must have (the header's). */
  columns: number;
  /** Column index of each field found. */
  index: Partial<Record<RetailField, number>>;
  /**
   * Whether `2,55` means 2.55: only in `;`-separated files, the spreadsheet convention where the
   * comma is the decimal mark. Elsewhere a comma in a number may be a thousands separator, so such
   * a value is counted unreadable rather than guessed.
   */
  decimalComma: boolean;
}

const normal = (name: string) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, '');

function layoutWith(delimiter: string, names: string[]): RetailLayout {
  const at = new Map(names.map((name, i) => [normal(name), i] as const).reverse());
  const index: Partial<Record<RetailField, number>> = {};
  for (const [field, accepted] of Object.entries(RETAIL_COLUMNS) as Array<[RetailField, readonly string[]]>) {
    const i = accepted.map((name) => at.get(normal(name))).find((found) => found !== undefined);
    if (i !== undefined) index[field] = i;
  }
  return { delimiter, columns: names.length, index, decimalComma: delimiter === ';' };
}

/**
 * The layout of `header` (fields already split by the caller for each delimiter tried), or the
 * required fields none of the delimiters finds. The delimiter is the one that finds most fields.
 */
export function retailLayout(
  header: string,
  split: (line: string, delimiter: string) => string[] | null,
): RetailLayout | { missing: RetailField[] } {
  let best: RetailLayout | undefined;
  for (const delimiter of DELIMITERS) {
    const names = split(header, delimiter);
    if (!names) continue;
    const layout = layoutWith(delimiter, names);
    if (!best || Object.keys(layout.index).length > Object.keys(best.index).length) best = layout;
  }
  const missing = (Object.keys(RETAIL_COLUMNS) as RetailField[]).filter(
    (field) => !OPTIONAL.has(field) && best?.index[field] === undefined,
  );
  return missing.length > 0 || !best ? { missing } : best;
}

/** What the header must name, for error messages: `InvoiceNo (or Invoice), …`. */
export function describeColumns(fields: RetailField[]): string {
  return fields
    .map((field) => {
      const [first, ...others] = RETAIL_COLUMNS[field];
      return others.length > 0 ? `${first} (or ${others.join(', ')})` : `${first}`;
    })
    .join(', ');
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A plain decimal number, or NaN. Stricter than Number(): `0x10`, `Infinity` and `1,234` are not
 * prices, and `''` is not 0. `2,55` is 2.55 only where the layout says the comma is decimal.
 */
export function parseRetailNumber(raw: string, decimalComma: boolean): number {
  let text = raw.trim();
  // Where the comma is the decimal mark, `1.000` is mostly a thousand (the dot groups digits), though
  // some such files write decimals with a dot: digits grouped by three after a dot are never guessed at.
  if (decimalComma && /^[+-]?\d{1,3}(\.\d{3})+$/.test(text)) return Number.NaN;
  if (decimalComma && /^[+-]?\d+,\d+$/.test(text)) text = text.replace(',', '.');
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}
