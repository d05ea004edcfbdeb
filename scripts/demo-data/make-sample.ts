/**
 * Builds the demo shop's data from the full UCI Online Retail file:
 *   tsx scripts/demo-data/make-sample.ts ../shared/datasets/online-retail/online_retail.csv.gz
 *
 * Writes (committed, small, attributed in scripts/demo-data/README.md):
 *   - scripts/demo-data/catalogue.json: the 300 products bought by the most customers, with their
 *     most common description, median price and product family;
 *   - scripts/demo-data/online-retail-sample.csv.gz: every original row (same columns, dirt kept) of
 *     those products for a deterministic sample of customers, which trains the default model bundle.
 *
 * Deterministic: the same input gives byte-identical output (no randomness, no timestamps).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGunzip, createGzip } from 'node:zlib';
import { categoryOf } from '../../contracts/categories';

const PRODUCTS = 300;
/** Keep a customer when hash(id) % 100 < this: about a quarter of the customers. */
const CUSTOMER_SHARE_PERCENT = 28;
/** Stock codes that are fees, postage or manual adjustments, not products. */
const NON_PRODUCT = /^(POST|DOT|M|D|C2|S|B|CRUK|PADS|AMAZONFEE|BANK CHARGES|gift_.*)$/i;

const here = path.dirname(fileURLToPath(import.meta.url));

interface Row {
  line: string;
  invoice: string;
  stockCode: string;
  description: string;
  quantity: number;
  price: number;
  customer: string;
}

function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

function customerHash(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) % 100;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const input = process.argv[2];
  if (!input) throw new Error('usage: tsx scripts/demo-data/make-sample.ts PATH/online_retail.csv.gz');
  const stream = input.endsWith('.gz')
    ? createReadStream(input).pipe(createGunzip())
    : createReadStream(input);
  const lines = readline.createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });

  let header = '';
  const rows: Row[] = [];
  const customersOf = new Map<string, Set<string>>();
  for await (const line of lines) {
    if (!header) {
      header = line;
      continue;
    }
    const [invoice = '', stockCode = '', description = '', quantity = '', , price = '', customer = ''] =
      parseCsvLine(line);
    const row = {
      line,
      invoice,
      stockCode,
      description,
      quantity: Number(quantity),
      price: Number(price),
      customer,
    };
    rows.push(row);
    if (
      customer &&
      !invoice.startsWith('C') &&
      row.quantity > 0 &&
      row.price > 0 &&
      !NON_PRODUCT.test(stockCode)
    ) {
      const set = customersOf.get(stockCode) ?? new Set<string>();
      set.add(customer);
      customersOf.set(stockCode, set);
    }
  }

  const chosen = [...customersOf.entries()]
    .sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0]))
    .slice(0, PRODUCTS)
    .map(([code]) => code);
  const chosenSet = new Set(chosen);

  const descriptions = new Map<string, Map<string, number>>();
  const prices = new Map<string, number[]>();
  const sample: string[] = [header];
  for (const row of rows) {
    if (!chosenSet.has(row.stockCode)) continue;
    if (row.quantity > 0 && row.price > 0 && row.description) {
      const counts = descriptions.get(row.stockCode) ?? new Map<string, number>();
      counts.set(row.description, (counts.get(row.description) ?? 0) + 1);
      descriptions.set(row.stockCode, counts);
      const list = prices.get(row.stockCode) ?? [];
      list.push(row.price);
      prices.set(row.stockCode, list);
    }
    if (row.customer && customerHash(row.customer) < CUSTOMER_SHARE_PERCENT) sample.push(row.line);
  }

  const catalogue = chosen.map((code) => {
    const counts = [...(descriptions.get(code) ?? new Map<string, number>()).entries()];
    const title = counts.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? code;
    return {
      product_id: code,
      title,
      price: Math.round(median(prices.get(code) ?? []) * 100) / 100,
      currency: 'GBP',
      category: categoryOf(title),
      customers: customersOf.get(code)?.size ?? 0,
    };
  });

  await writeFile(path.join(here, 'catalogue.json'), `${JSON.stringify(catalogue, null, 1)}\n`);
  const gzip = createGzip({ level: 9 });
  const out = createWriteStream(path.join(here, 'online-retail-sample.csv.gz'));
  gzip.pipe(out);
  gzip.end(`${sample.join('\n')}\n`);
  await new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  console.log(`catalogue: ${catalogue.length} products; sample: ${sample.length - 1} rows`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
