/**
 * A data team's first day with its own export (tiny synthetic files, never ../shared): a
 * `;`-separated export with decimal commas trains into a bundle with the right prices, a wrong
 * `--out` fails before any reading and destroys nothing, and a catalogue keyed by other ids says
 * what it leaves out.
 */
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogueSchema } from '../../contracts/manifest';
import { trainBundle } from '../../trainer/pipeline/train';
import { cli, runTrain } from '../support/trainer-cli';

/** Purchases of 12 customers among 4 products: [customer, invoice, day, code, title, price]. */
function purchases(): Array<[number, number, string, string, string, string]> {
  const products = [
    ['MUG', 'Mug, blue', '2,55'],
    ['BAG', 'Tote bag', '12,5'],
    ['CUP', 'Cup', '3'],
    ['PLATE', 'Plate', '7,25'],
  ] as const;
  const rows: Array<[number, number, string, string, string, string]> = [];
  for (let customer = 1; customer <= 12; customer++) {
    for (const [i, [code, title, price]] of products.entries()) {
      if ((customer + i) % 3 === 0) continue;
      rows.push([
        customer,
        1000 + customer,
        String(1 + ((customer + i) % 27)).padStart(2, '0'),
        code,
        title,
        price,
      ]);
    }
  }
  return rows;
}

/** A European spreadsheet export: `;`, decimal commas, own column order, ISO dates with zones, CRLF. */
function shopExport(): string {
  const lines = ['Customer ID;Invoice;InvoiceDate;StockCode;Description;Quantity;Price;Country'];
  for (const [customer, invoice, day, code, title, price] of purchases())
    lines.push(`${customer};${invoice};2024-03-${day}T10:00:00+01:00;${code};"${title}";2;${price};France`);
  return `${lines.join('\r\n')}\r\n`;
}

/** The same purchases in the UCI layout, which every version of the reader takes. */
function uciExport(): string {
  const lines = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'];
  for (const [customer, invoice, day, code, title, price] of purchases())
    lines.push(
      `${invoice},${code},"${title}",2,2024-03-${day} 10:00,${price.replace(',', '.')},${customer},France`,
    );
  return `${lines.join('\n')}\n`;
}

let dir = '';
let input = '';
let uci = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rx-trainer-own-'));
  input = path.join(dir, 'export.csv');
  await writeFile(input, shopExport());
  uci = path.join(dir, 'uci.csv');
  await writeFile(uci, uciExport());
});

describe('a data team training on its own export', { timeout: 180_000 }, () => {
  it('a ;-separated export with decimal commas trains, and the bundle shows its prices', async () => {
    const out = path.join(dir, 'bundle');
    const train = await runTrain('online-retail', input, out, ['--personal', 'item-item']);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/read 32 rows, kept 32\n/);
    const catalogue = CatalogueSchema.parse(
      JSON.parse(await readFile(path.join(out, 'catalogue.json'), 'utf8')),
    );
    const price = Object.fromEntries(catalogue.items.map((i) => [i.product_id, [i.title, i.price]]));
    expect(price).toEqual({
      MUG: ['Mug, blue', 2.55],
      BAG: ['Tote bag', 12.5],
      CUP: ['Cup', 3],
      PLATE: ['Plate', 7.25],
    });
  });

  it('a wrong --out fails at once, before reading, in one line, and leaves what was there', async () => {
    // The folder a user might name by mistake: writing the bundle used to replace it, contents and all.
    const project = path.join(dir, 'project');
    await mkdir(path.join(project, 'models'), { recursive: true });
    await writeFile(path.join(project, 'orders.csv'), 'precious');
    const [train, forecast] = await Promise.all([
      runTrain('online-retail', uci, project, ['--personal', 'item-item']),
      cli('forecast', ['--format', 'online-retail', '--input', uci, '--horizon', '2', '--out', project]),
    ]);
    expect(train.code).toBe(1);
    expect(train.stdout).toBe(''); // nothing read or trained first
    expect(train.stderr.trim().split('\n')).toEqual([
      `error: --out: cannot write a bundle to ${project}: it holds "${(await readdir(project)).sort()[0]}" and is no earlier bundle; the bundle replaces the whole folder, so pass a new or empty folder, or an earlier bundle's`,
    ]);
    expect(forecast.code).toBe(1);
    expect(forecast.stdout).toBe('');
    expect(forecast.stderr).toMatch(/^error: --out .*project: is a folder; name a file in it/);
    expect((await readdir(project)).sort()).toEqual(['models', 'orders.csv']);
    expect(await readFile(path.join(project, 'orders.csv'), 'utf8')).toBe('precious');
  });

  it('a catalogue keyed by other ids says how many interactions it leaves out, or refuses when none match', async () => {
    const partial = path.join(dir, 'partial.json');
    await writeFile(
      partial,
      JSON.stringify([{ product_id: 'MUG' }, { product_id: 'bag' }, { product_id: 'CUP' }]),
    );
    const log: string[] = [];
    const result = await trainBundle({
      format: 'online-retail',
      input,
      catalogue: partial,
      personal: 'item-item',
      log: (line) => log.push(line),
    });
    expect(log).toContain(
      'catalogue partial.json: left out 16 of 32 interactions, of 2 products not in it (such as "BAG", "PLATE")',
    );
    expect(log).toContain('catalogue partial.json: 1 of 3 products have no interactions in the data');
    expect(result.contents.data.interactions).toBe(16);
    await expect(
      trainBundle({
        format: 'online-retail',
        input,
        catalogue: path.join(dir, 'nope.json'),
        personal: 'item-item',
      }),
    ).rejects.toThrow(/^catalogue .*nope\.json: cannot read it \(ENOENT\)$/);
    const none = path.join(dir, 'none.json');
    await writeFile(none, JSON.stringify([{ product_id: 'sku-1' }]));
    await expect(
      trainBundle({ format: 'online-retail', input, catalogue: none, personal: 'item-item' }),
    ).rejects.toThrow(
      'catalogue none.json: none of the data\'s 4 products is in it (data ids such as "MUG", "BAG", "PLATE"; catalogue ids such as "sku-1"): product_id must be the id the data uses',
    );
  });
});
