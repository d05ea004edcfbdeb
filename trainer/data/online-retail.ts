/**
 * Reader of the UCI Online Retail CSV (`.csv` or `.csv.gz`):
 * `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`.
 * Every kept row is one purchase of a customer; the cleaning rules below say why each other row is skipped.
 */
import { InputError, readLines, splitCsvLine } from './lines';
import { type DataSource, type Interaction, type ItemStats, observeItem, ReadReport } from './types';

const HEADER = [
  'InvoiceNo',
  'StockCode',
  'Description',
  'Quantity',
  'InvoiceDate',
  'UnitPrice',
  'CustomerID',
  'Country',
];

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

/** Parses `YYYY-MM-DD HH:MM[:SS]` (this CSV) or `M/D/YYYY H:MM` (the original spreadsheet), as UTC. */
export function parseRetailDate(text: string): number | null {
  let m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (m) return utcIfReal(+(m[1] ?? 0), +(m[2] ?? 0), +(m[3] ?? 0), +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})$/.exec(text.trim());
  if (m) return utcIfReal(+(m[3] ?? 0), +(m[1] ?? 0), +(m[2] ?? 0), +(m[4] ?? 0), +(m[5] ?? 0), 0);
  return null;
}

/**
 * The time, or null for a date that does not exist: Date.UTC rolls 2011-02-30 over to 2 March and
 * 25:00 to the next day, which would put a line on the wrong day instead of counting it unreadable.
 */
function utcIfReal(year: number, month: number, day: number, hour: number, minute: number, second: number) {
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(time);
  const same =
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second;
  return same ? time : null;
}

/** A data source over an Online Retail CSV file. */
export function onlineRetailSource(path: string): DataSource {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  async function* interactions(): AsyncGenerator<Interaction> {
    let sawHeader = false;
    for await (const [line, text] of readLines(path)) {
      if (!sawHeader) {
        sawHeader = true;
        const header = splitCsvLine(text.replace(/^\uFEFF/, ''));
        if (!header || HEADER.some((name, i) => header[i]?.trim() !== name)) {
          throw new InputError(`${path} is not an Online Retail CSV: expected header ${HEADER.join(',')}`);
        }
        continue;
      }
      if (text.trim() === '') continue;
      report.rows.read += 1;
      const row = parseRow(text, line, report);
      if (!row) continue;
      report.rows.kept += 1;
      observeItem(items, { item: row.item, title: row.title, price: row.price, currency: 'GBP' });
      yield row.interaction;
    }
    if (!sawHeader) throw new InputError(`input ${path} is empty`);
  }
  return { interactions, report, items };
}

interface ParsedRow {
  item: string;
  title: string;
  price: number;
  interaction: Interaction;
}

function parseRow(text: string, line: number, report: ReadReport): ParsedRow | null {
  const fields = splitCsvLine(text);
  if (!fields) return skip(report, 'unterminated quote', line);
  if (fields.length !== HEADER.length) return skip(report, `expected ${HEADER.length} columns`, line);
  const [
    invoice = '',
    rawCode = '',
    description = '',
    rawQuantity = '',
    rawDate = '',
    rawPrice = '',
    rawCustomer = '',
    country = '',
  ] = fields;
  const quantity = Number(rawQuantity);
  const price = Number(rawPrice);
  const time = parseRetailDate(rawDate);
  if (rawQuantity.trim() === '' || !Number.isFinite(quantity))
    return skip(report, 'quantity is not a number', line);
  if (rawPrice.trim() === '' || !Number.isFinite(price))
    return skip(report, 'unit price is not a number', line);
  if (time === null) return skip(report, 'unreadable invoice date', line);
  // Stock codes differ only in case between rows of one product (85123a / 85123A).
  const item = rawCode.trim().toUpperCase();
  if (item === '') return skip(report, 'missing stock code', line);
  // Cancellations (InvoiceNo "C…") reverse an earlier sale; the sale itself stays, as the shopper's
  // interest was real and the original line cannot be matched reliably.
  if (invoice.startsWith('C')) return skip(report, 'cancellation', line);
  if (NON_PRODUCT_CODES.has(item) || item.startsWith('GIFT_'))
    return skip(report, 'postage, fee or adjustment line', line);
  // Zero/negative quantities without a "C" invoice are stock write-offs ("damaged", "lost").
  if (quantity <= 0) return skip(report, 'non-positive quantity (stock adjustment)', line);
  if (quantity > MAX_QUANTITY) return skip(report, `absurd quantity (> ${MAX_QUANTITY})`, line);
  // Free lines are samples or corrections, negative prices are bad-debt adjustments.
  if (price <= 0) return skip(report, 'zero or negative unit price', line);
  // Without a customer a purchase cannot be tied to anyone's history.
  const user = rawCustomer.trim().replace(/\.0$/, '');
  if (user === '') return skip(report, 'missing customer id', line);
  return {
    item,
    title: description.trim(),
    price,
    interaction: {
      user,
      item,
      time,
      weight: 1,
      purchase: true,
      store: country.trim() || 'unknown',
      quantity,
      basket: invoice,
    },
  };
}

function skip(report: ReadReport, reason: string, line: number): null {
  report.skip(reason, line);
  return null;
}
