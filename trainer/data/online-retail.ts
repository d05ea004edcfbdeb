/**
 * Reader of the UCI Online Retail CSV (`.csv` or `.csv.gz`):
 * `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`, and of a
 * shop's own export with those columns (by name, any order; `;` or tab separated too: retail-layout.ts)
 * and optionally a `Currency` one.
 * Every kept row is one purchase of a customer; the cleaning rules below say why each other row is skipped.
 * A row without a customer is skipped for the recommenders, kept as a guest sale for the forecast.
 */
import { csvRecords, splitCsvLine } from './csv';
import { currencyCode, DEFAULT_CURRENCY } from './currency-code';
import { InputError, readLines } from './lines';
import { isDayFirstDate, parseRetailDate } from './retail-dates';
import { describeColumns, parseRetailNumber, type RetailLayout, retailLayout } from './retail-layout';
import { type DataSource, type Interaction, type ItemStats, observeItem, ReadReport } from './types';

/** A day of slack for clocks and zones: an order of "today" in a zone ahead of this machine's is not the future. */
const FUTURE_SLACK_MS = 24 * 60 * 60 * 1000;

export { parseRetailDate } from './retail-dates';

/** The key under which spellings of one product id meet: `85123a` and `85123A` are one product. */
const foldCase = (id: string) => id.toUpperCase();

const UCI_HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';

/**
 * Stock codes that are not products: postage (POST, DOT = dotcom postage, C2 = carriage), manual
 * adjustments (M), discounts (D), samples (S), fees (BANK CHARGES, AMAZONFEE), charity (CRUK),
 * packing (PADS), bad-debt adjustments (B). Gift vouchers (`gift_0001_*`) are excluded by prefix.
 */
const NON_PRODUCT_CODES = new Set([
  'POST',
  'DOT',
  'M',
  'C2',
  'D',
  'S',
  'BANK CHARGES',
  'AMAZONFEE',
  'CRUK',
  'PADS',
  'B',
]);

/**
 * Larger single-line quantities are data-entry accidents or one-off wholesale deals (the dataset's
 * 80,995 and 74,215 lines were cancelled minutes later); they would swamp popularity and forecasts.
 */
export const MAX_QUANTITY = 10_000;

/** What the caller reads the file for. */
export interface OnlineRetailOptions {
  /**
   * Keep rows without a customer id as guest sales (`guest: true`, user `''`). Units sold are
   * demand whoever bought them (7.7 % of the UCI file's units, 12.7 % in its last weeks), so the
   * forecast asks for them; the recommenders need a customer's history and do not.
   */
  guestSales?: boolean;
  /**
   * The currency of the prices (upper case) where the file has no `Currency` column or leaves it
   * empty: `--currency`, else GBP, the UCI file's.
   */
  currency?: string;
}

/** A data source over an Online Retail CSV file. */
export function onlineRetailSource(path: string, options: OnlineRetailOptions = {}): DataSource {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  const reading = { guestSales: options.guestSales ?? false, currency: options.currency ?? DEFAULT_CURRENCY };
  async function* interactions(): AsyncGenerator<Interaction> {
    const lines = readLines(path, (note) => report.notes.push(note));
    const first = await lines.next();
    if (first.done) throw new InputError(`input ${path} is empty`);
    const layout = retailLayout(first.value[1].replace(/^\uFEFF/, ''), splitCsvLine);
    if ('missing' in layout) {
      throw new InputError(
        `${path} is not an Online Retail CSV: its header has no ${describeColumns(layout.missing)} column; name your export's columns as ${UCI_HEADER} (any order, other columns ignored; comma, semicolon or tab separated)`,
      );
    }
    let guests = 0;
    // Kept rows wait for the end of the file: a product id is the spelling most of its rows give it
    // (ProductIds), known only then. Items are described under the case-folded id meanwhile.
    const kept: Interaction[] = [];
    const described = new Map<string, ItemStats>();
    const ids = new ProductIds();
    for await (const { line, fields } of csvRecords(lines, layout.delimiter, layout.columns)) {
      report.rows.read += 1;
      const row = parseRow(fields, layout, line, report, path, reading);
      if (!row) continue;
      report.rows.kept += 1;
      if (row.interaction.guest) guests += 1;
      ids.count(row.item);
      observeItem(described, {
        item: foldCase(row.item),
        title: row.title,
        price: row.price,
        currency: row.currency,
      });
      kept.push(row.interaction);
    }
    if (guests > 0)
      report.notes.push(`${guests} kept rows have no customer id: guest sales, counted as demand`);
    const merged = ids.merged();
    if (merged.length > 0)
      report.notes.push(
        `${merged.length} product ids are spelled in more than one case (such as ${merged
          .slice(0, 3)
          .map((spellings) => spellings.map((s) => `"${s}"`).join(' / '))
          .join(', ')}): each is one product, named as most of its rows spell it (named first)`,
      );
    for (const [key, stats] of described) items.set(ids.of(key), stats);
    for (const interaction of kept) {
      interaction.item = ids.of(foldCase(interaction.item));
      yield interaction;
    }
  }
  return { interactions, report, items };
}

/**
 * The product id of each case-folded stock code: the spelling most kept rows give it, a tie going to
 * the spelling that sorts first (upper case before lower case), whatever the row order. The id is
 * kept as the data spells it: the worker matches product ids exactly (page ids, events, prices), so
 * a shop whose ids are `blue-shirt-4` must find them so in the bundle. Upper-casing every id, as
 * before, named them `BLUE-SHIRT-4`, which no page or event of the shop matched.
 */
class ProductIds {
  private readonly spellings = new Map<string, Map<string, number>>();
  private chosen: Map<string, string> | undefined;

  count(spelling: string): void {
    const key = foldCase(spelling);
    const counts = this.spellings.get(key) ?? new Map<string, number>();
    counts.set(spelling, (counts.get(spelling) ?? 0) + 1);
    this.spellings.set(key, counts);
    this.chosen = undefined;
  }

  /** The id of the case-folded `key`. */
  of(key: string): string {
    this.chosen ??= new Map(
      [...this.spellings].map(([k, counts]) => [k, ProductIds.ranked(counts)[0] ?? k] as const),
    );
    return this.chosen.get(key) ?? key;
  }

  /** The ids spelled in more than one case: each one's spellings, the id first. */
  merged(): string[][] {
    return [...this.spellings.values()].filter((counts) => counts.size > 1).map(ProductIds.ranked);
  }

  private static ranked(counts: Map<string, number>): string[] {
    return [...counts]
      .sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0))
      .map(([spelling]) => spelling);
  }
}

interface ParsedRow {
  item: string;
  title: string;
  price: number;
  currency: string;
  interaction: Interaction;
}

function parseRow(
  fields: string[] | null,
  layout: RetailLayout,
  line: number,
  report: ReadReport,
  path: string,
  reading: Required<OnlineRetailOptions>,
): ParsedRow | null {
  if (!fields) return skip(report, 'unterminated quote', line);
  if (fields.length !== layout.columns) return skip(report, `expected ${layout.columns} columns`, line);
  const field = (name: keyof RetailLayout['index']) => {
    const i = layout.index[name];
    return i === undefined ? '' : (fields[i] ?? '');
  };
  const invoice = field('invoice').trim();
  const rawCode = field('code');
  const description = field('description');
  const rawQuantity = field('quantity');
  const rawDate = field('date');
  const rawPrice = field('price');
  const rawCustomer = field('customer');
  const country = field('country');
  const rawCurrency = field('currency').trim();
  const quantity = parseRetailNumber(rawQuantity, layout.decimalComma);
  const price = parseRetailNumber(rawPrice, layout.decimalComma);
  const time = parseRetailDate(rawDate);
  if (!Number.isFinite(quantity)) return skip(report, notANumber('quantity', rawQuantity), line);
  if (!Number.isFinite(price)) return skip(report, notANumber('unit price', rawPrice), line);
  // A price in an unknown currency is no price to show or sign (`£`, `euro`): counted, as a bad price is.
  const currency = rawCurrency === '' ? reading.currency : currencyCode(rawCurrency);
  if (currency === undefined) return skip(report, 'currency is not a three-letter code', line);
  if (time === null) {
    if (isDayFirstDate(rawDate))
      throw new InputError(
        `${path} line ${line}: InvoiceDate "${rawDate.trim()}" is day-first (D/M/YYYY); slash dates are read month-first (M/D/YYYY, as in the UCI file), so this file's earlier dates up to the 12th of a month would be on the wrong day: write dates as YYYY-MM-DD HH:MM`,
      );
    return skip(report, 'unreadable invoice date', line);
  }
  // No sale is from the future: one mistyped year (2101) would move the data's last week there, and
  // the forecast would count every week until it as a week without sales (all zeros, exit 0).
  if (time > Date.now() + FUTURE_SLACK_MS) return skip(report, 'invoice date in the future', line);
  // The id as the data spells it; spellings that differ only in case (85123a / 85123A) become one
  // product once the whole file is read (ProductIds).
  const item = rawCode.trim();
  if (item === '') return skip(report, 'missing stock code', line);
  // Cancellations (InvoiceNo "C…" with a negative quantity, as every one in the UCI file has)
  // reverse an earlier sale; the sale itself stays, as the shopper's interest was real and the
  // original line cannot be matched reliably. A "C…" invoice selling something (a shop's order
  // numbers `CS-1001`) is a sale: the prefix alone dropped every one of them.
  if (invoice.startsWith('C') && quantity < 0) return skip(report, 'cancellation', line);
  const code = foldCase(item);
  if (NON_PRODUCT_CODES.has(code) || code.startsWith('GIFT_'))
    return skip(report, 'postage, fee or adjustment line', line);
  // Zero/negative quantities that are no cancellation are stock write-offs ("damaged", "lost").
  if (quantity <= 0) return skip(report, 'non-positive quantity (stock adjustment)', line);
  if (quantity > MAX_QUANTITY) return skip(report, `absurd quantity (> ${MAX_QUANTITY})`, line);
  // Free lines are samples or corrections, negative prices are bad-debt adjustments.
  if (price <= 0) return skip(report, 'zero or negative unit price', line);
  // Without a customer a purchase cannot be tied to anyone's history; it is still demand.
  const user = rawCustomer.trim().replace(/\.0$/, '');
  if (user === '' && !reading.guestSales) return skip(report, 'missing customer id', line);
  return {
    item,
    // A line break inside a quoted description is layout, not part of the product's title.
    title: description.replace(/\s*[\r\n]+\s*/g, ' ').trim(),
    price,
    currency,
    interaction: {
      user,
      item,
      time,
      weight: 1,
      purchase: true,
      store: country.trim() || 'unknown',
      quantity,
      basket: invoice,
      ...(user === '' ? { guest: true as const } : {}),
    },
  };
}

/** The skip reason for an unreadable number, naming the decimal comma when that is the cause. */
function notANumber(name: string, raw: string): string {
  return /^\s*[+-]?\d+,\d+\s*$/.test(raw)
    ? `${name} has a decimal comma (read as decimal only in ;-separated files)`
    : `${name} is not a number`;
}

function skip(report: ReadReport, reason: string, line: number): null {
  report.skip(reason, line);
  return null;
}
