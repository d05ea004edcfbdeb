/**
 * A shop's own exports, not the UCI file: other column names and order, `;` or tab separated, decimal
 * commas, BOM and CRLF, ISO 8601 dates with zones, descriptions with line breaks, day-first dates,
 * spreadsheets and folders given by mistake, mongoexport's Extended JSON.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_LINES } from './csv';
import { eventsSource } from './events';
import { onlineRetailSource } from './online-retail';
import { pricesIn } from './price-samples';
import { readAll } from './sources';

async function fixture(name: string, text: string | Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rx-own-export-'));
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function read(name: string, text: string | Buffer) {
  const source = onlineRetailSource(await fixture(name, text));
  const rows = await readAll(source);
  return {
    rows: rows.map((r) => [r.user, r.item, r.quantity, new Date(r.time).toISOString(), r.store]),
    prices: Object.fromEntries([...source.items].map(([id, s]) => [id, pricesIn(s.prices, 'GBP')])),
    titles: Object.fromEntries([...source.items].map(([id, s]) => [id, [...s.titles.keys()]])),
    skipped: Object.fromEntries(source.report.skipped().map((s) => [s.reason, s.firstLines])),
    report: source.report.rows,
  };
}

/** What every layout below must read: two purchases, 2.55 and 1,234.5 units of money. */
const EXPECTED_ROWS = [
  ['17850', '85123A', 6, '2010-12-01T08:26:00.000Z', 'United Kingdom'],
  ['13047', '22633', 2, '2010-12-13T09:02:00.000Z', 'France'],
];
const EXPECTED_PRICES = { '85123A': [2.55], '22633': [1234.5] };

describe('online-retail reader on a shop export', () => {
  it('reads columns by name in any order, Online Retail II names, extra columns, BOM and CRLF', async () => {
    const text = [
      '\uFEFFCustomer ID,Email,Price,Invoice,InvoiceDate,StockCode,Quantity,Country,Description',
      '17850.0,a@example.com,2.55,536365,2010-12-01 08:26:00,85123A,6,United Kingdom,WHITE HEART',
      '13047,b@example.com,1234.5,536366,2010-12-13 09:02,22633,2,France,HAND WARMER',
    ].join('\r\n');
    const result = await read('export.csv', text);
    expect(result.rows).toEqual(EXPECTED_ROWS);
    expect(result.prices).toEqual(EXPECTED_PRICES);
    expect(result.titles['85123A']).toEqual(['WHITE HEART']);
  });

  it('reads ;-separated files with decimal commas (2,55 is 2.55) and tab-separated ones', async () => {
    const semicolon = [
      'InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country',
      '536365;85123A;WHITE HEART;6;2010-12-01 08:26;2,55;17850;United Kingdom',
      '536366;22633;"HAND WARMER; RED";2;2010-12-13 09:02;1234,5;13047;France',
    ].join('\n');
    const semi = await read('export.csv.gz', gzipSync(semicolon));
    expect(semi.rows).toEqual(EXPECTED_ROWS);
    expect(semi.prices).toEqual(EXPECTED_PRICES);
    expect(semi.titles['22633']).toEqual(['HAND WARMER; RED']);
    const tab = await read(
      'export.tsv',
      semicolon.replaceAll(';', '\t').replace('2,55', '2.55').replace('1234,5', '1234.5'),
    );
    expect(tab.rows).toEqual(EXPECTED_ROWS);
    expect(tab.prices).toEqual(EXPECTED_PRICES);
  });

  it('in a ;-separated file, digits grouped by three after a dot (1.000) are never guessed at; 2.55 is read', async () => {
    const result = await read(
      'export.csv',
      [
        'InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country',
        '536365;85123A;WHITE HEART;6;2010-12-01 08:26;2.55;17850;United Kingdom',
        '536366;71053;LANTERN;1.000;2010-12-01 08:26;3;17850;United Kingdom',
        '536367;22633;HAND WARMER;2;2010-12-13 09:02;1.234;13047;France',
      ].join('\n'),
    );
    expect(result.rows).toEqual([EXPECTED_ROWS[0]]);
    expect(result.report.kept).toBe(1);
    expect(Object.values(result.skipped).flat().sort()).toEqual([3, 4]);
  });

  it('reads prices in the currency of a Currency column, else of the currency option, else GBP', async () => {
    const header = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
    const file = await fixture(
      'export.csv',
      [
        `${header},Currency`,
        '1,A,X,1,2010-12-01 08:26,4,1,France,EUR',
        '2,A,X,1,2010-12-01 08:27,5,2,France,eur',
        '3,A,X,1,2010-12-01 08:28,9,3,United States,USD',
        '4,A,X,1,2010-12-01 08:29,6,4,France,',
        '5,A,X,1,2010-12-01 08:30,7,5,France,£',
      ].join('\n'),
    );
    const source = onlineRetailSource(file, { currency: 'EUR' });
    await readAll(source);
    const prices = source.items.get('A')?.prices;
    // Before: every price was GBP, whatever the file said.
    expect([pricesIn(prices, 'EUR'), pricesIn(prices, 'USD'), pricesIn(prices, 'GBP')]).toEqual([
      [4, 5, 6],
      [9],
      [],
    ]);
    expect(source.report.skipped()).toEqual([
      { reason: 'currency is not a three-letter code', count: 1, firstLines: [6] },
    ]);
    // Without the column: the option's currency, else GBP (the UCI file's).
    const plain = await fixture('plain.csv', `${header}\n1,A,X,1,2010-12-01 08:26,4,1,France\n`);
    const inEuro = onlineRetailSource(plain, { currency: 'EUR' });
    await readAll(inEuro);
    expect(pricesIn(inEuro.items.get('A')?.prices, 'EUR')).toEqual([4]);
    const uci = onlineRetailSource(plain);
    await readAll(uci);
    expect(pricesIn(uci.items.get('A')?.prices, 'GBP')).toEqual([4]);
  });

  it('a row dated in the future (a mistyped year) is skipped and counted, not taken as the last week', async () => {
    const result = await read(
      'export.csv',
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        '536365,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom',
        '536366,22633,HAND WARMER,2,2101-12-01 08:26,1.5,13047,France',
      ].join('\n'),
    );
    expect(result.rows).toEqual([EXPECTED_ROWS[0]]);
    expect(result.skipped).toEqual({ 'invoice date in the future': [3] });
  });

  it('keeps product ids as the shop spells them (the worker matches them exactly); case variants are one product under the most frequent spelling', async () => {
    const header = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
    // A shop's own ids: upper-casing every one, as before, trained a bundle of BLUE-SHIRT-4 and
    // sku-a's SKU-A, which no page, event or price lookup of that shop names.
    const own = await read(
      'export.csv',
      [
        header,
        '1001,sku-a,SHIRT,1,2010-12-01 08:26,2.5,17850,United Kingdom',
        '1002,sku-a,SHIRT,2,2010-12-02 08:26,2.5,13047,United Kingdom',
        '1003,blue-shirt-4,BLUE SHIRT,1,2010-12-03 08:26,9,13047,United Kingdom',
      ].join('\n'),
    );
    expect(own.rows.map((r) => r[1])).toEqual(['sku-a', 'sku-a', 'blue-shirt-4']);
    expect(Object.keys(own.titles)).toEqual(['sku-a', 'blue-shirt-4']);
    // The UCI file spells 85123A in lower case on some rows: one product, named as most rows name it,
    // whichever spelling comes first; its titles and prices are the product's, all rows' together.
    const source = onlineRetailSource(
      await fixture(
        'uci.csv',
        [
          header,
          '536982,85123a,WHITE HANGING HEART T-LIGHT HOLDER,35,2010-12-03 14:27,2.95,17850,United Kingdom',
          '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-04 08:26,2.55,17850,United Kingdom',
          '536366,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-05 08:26,2.55,13047,United Kingdom',
          '536367,85160a,BIRD,1,2010-12-05 08:26,1,13047,United Kingdom',
          '536368,85160A,BIRD,1,2010-12-05 08:26,1,13047,United Kingdom',
        ].join('\n'),
      ),
    );
    const rows = await readAll(source);
    expect(rows.map((r) => r.item)).toEqual(['85123A', '85123A', '85123A', '85160A', '85160A']);
    expect([...source.items.keys()]).toEqual(['85123A', '85160A']);
    expect(pricesIn(source.items.get('85123A')?.prices, 'GBP')).toEqual([2.95, 2.55, 2.55]);
    expect(source.report.notes).toContain(
      '2 product ids are spelled in more than one case (such as "85123A" / "85123a", "85160A" / "85160a"): each is one product, named as most of its rows spell it (named first)',
    );
  });

  it('a cancellation is a C invoice taking units back; a C order number selling something is a sale', async () => {
    const result = await read(
      'export.csv',
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        'CS-1001,85123A,WHITE HEART,6,2010-12-01 08:26,2.55,17850,United Kingdom',
        'C536379,22633,HAND WARMER,-1,2010-12-01 09:41,1.5,13047,France',
        '536380,22633,HAND WARMER,-2,2010-12-01 09:41,1.5,13047,France',
      ].join('\n'),
    );
    expect(result.rows).toEqual([EXPECTED_ROWS[0]]);
    expect(result.skipped).toEqual({
      cancellation: [3],
      'non-positive quantity (stock adjustment)': [4],
    });
  });

  it('never guesses a comma in a number of a comma-separated file: counted, with the reason', async () => {
    const result = await read(
      'export.csv',
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        '536365,85123A,WHITE HEART,6,2010-12-01 08:26,"2,55",17850,United Kingdom',
        '536366,22633,HAND WARMER,2,2010-12-13 09:02,0x10,13047,France',
      ].join('\n'),
    );
    expect(result.rows).toEqual([]);
    expect(result.skipped).toEqual({
      'unit price has a decimal comma (read as decimal only in ;-separated files)': [2],
      'unit price is not a number': [3],
    });
  });

  it('reads ISO 8601 dates with T, seconds fractions and zones (Z, +01:00, -0500) as the instant they name', async () => {
    const result = await read(
      'export.csv',
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        '1,A,X,1,2010-12-01T08:26:00Z,1,1,UK',
        '2,A,X,1,2010-12-01T09:26:00.123+01:00,1,2,UK',
        '3,A,X,1,2010-12-01T03:26:00-0500,1,3,UK',
        '4,A,X,1,2010-12-01,1,4,UK',
      ].join('\n'),
    );
    expect(result.rows.map((r) => r[3])).toEqual([
      '2010-12-01T08:26:00.000Z',
      '2010-12-01T08:26:00.000Z',
      '2010-12-01T08:26:00.000Z',
      '2010-12-01T00:00:00.000Z',
    ]);
  });

  it('stops at a day-first date instead of reading the earlier ones month-first on the wrong day', async () => {
    const file = await fixture(
      'export.csv',
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        '1,A,X,1,01/12/2010 08:26,1,1,UK', // 12 January if month-first: silently wrong
        '2,A,X,1,13/12/2010 08:26,1,2,UK',
      ].join('\n'),
    );
    await expect(readAll(onlineRetailSource(file))).rejects.toThrow(
      /export\.csv line 3: InvoiceDate "13\/12\/2010 08:26" is day-first \(D\/M\/YYYY\).*YYYY-MM-DD HH:MM/,
    );
  });

  it('reads quoted descriptions with line breaks as one row; a stray quote costs only its own row', async () => {
    const result = await read(
      'export.csv',
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        '536365,85123A,"WHITE HEART,',
        'T-LIGHT HOLDER",6,2010-12-01 08:26,2.55,17850,United Kingdom',
        '536366,99999,"STRAY QUOTE,1,2010-12-01 08:26,1,1,UK',
        '536366,22633,HAND WARMER,2,2010-12-13 09:02,1234.5,13047,France',
      ].join('\n'),
    );
    expect(result.rows).toEqual(EXPECTED_ROWS);
    expect(result.titles['85123A']).toEqual(['WHITE HEART, T-LIGHT HOLDER']);
    expect(result.skipped).toEqual({ 'unterminated quote': [4] });
    expect(result.report).toEqual({ read: 3, kept: 2 });
    // A quote never closed within MAX_RECORD_LINES lines gives up on its first line only.
    const many = Array.from(
      { length: MAX_RECORD_LINES + 5 },
      (_, i) => `${i},A,X,1,2010-12-01 08:26,1,${i},UK`,
    );
    const long = await read(
      'long.csv',
      [
        'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
        '9,B,"OPEN',
        ...many,
      ].join('\n'),
    );
    expect(long.report).toEqual({ read: many.length + 1, kept: many.length });
    expect(long.skipped).toEqual({ 'unterminated quote': [2] });
  });

  it('names the columns a header lacks, and refuses a spreadsheet, a folder and a header-only file says 0 rows', async () => {
    const renamed = await fixture(
      'orders.csv',
      'order_id,sku,name,qty,date,price,customer_id\n1,A,X,1,2010-12-01,1,1\n',
    );
    await expect(readAll(onlineRetailSource(renamed))).rejects.toThrow(
      /orders\.csv is not an Online Retail CSV: its header has no InvoiceNo \(or Invoice\), StockCode, Quantity, InvoiceDate column; name your export's columns as InvoiceNo,StockCode/,
    );
    const xlsx = await fixture('Online Retail.xlsx', Buffer.from('504b030414000600', 'hex'));
    await expect(readAll(onlineRetailSource(xlsx))).rejects.toThrow(
      /is a spreadsheet \(Excel workbook\).*save it as CSV/,
    );
    await expect(readAll(onlineRetailSource(path.dirname(xlsx)))).rejects.toThrow(/is a folder, not a file/);
    const header = await read(
      'header.csv',
      'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n',
    );
    expect(header.report).toEqual({ read: 0, kept: 0 });
  });
});

describe('text encoding', () => {
  const header = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
  const cp1252: Record<string, number> = {
    È: 0xc8,
    Û: 0xdb,
    É: 0xc9,
    '“': 0x93,
    '”': 0x94,
    '–': 0x96,
    '€': 0x80,
  };
  const asWindows1252 = (text: string) => Buffer.from([...text].map((c) => cp1252[c] ?? c.charCodeAt(0)));
  const titlesOf = (source: ReturnType<typeof onlineRetailSource>) =>
    new Set([...source.items.values()].flatMap((s) => [...s.titles.keys()]));
  // Enough rows that accented characters fall on the stream's 64 KiB chunk boundaries.
  const rows = Array.from(
    { length: 3000 },
    (_, i) => `${i},A,CRÈME BRÛLÉE “SET” – €,1,2010-12-01 08:26,1,${i},UK`,
  );

  it('reads UTF-8 as UTF-8 across chunk boundaries, with no note', async () => {
    const source = onlineRetailSource(await fixture('utf8.csv', `${[header, ...rows].join('\n')}\n`));
    expect(await readAll(source)).toHaveLength(3000);
    expect(titlesOf(source)).toEqual(new Set(['CRÈME BRÛLÉE “SET” – €']));
    expect(source.report.notes).toEqual([]);
  });

  it('reads an Excel CSV in Windows-1252 with its accents, euro sign and curly quotes, and says so', async () => {
    const source = onlineRetailSource(
      await fixture('excel.csv', asWindows1252(`${[header, ...rows].join('\r\n')}\r\n`)),
    );
    expect(await readAll(source)).toHaveLength(3000);
    expect(titlesOf(source)).toEqual(new Set(['CRÈME BRÛLÉE “SET” – €']));
    expect(source.report.summary()).toMatch(/\n {2}note: not UTF-8: read as Windows-1252/);
  });

  it('drops a UTF-8 BOM before Windows-1252 text too (a header it was left on named no InvoiceNo column)', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const text = asWindows1252(`${[header, ...rows.slice(0, 2)].join('\r\n')}\r\n`);
    const source = onlineRetailSource(await fixture('bom-excel.csv', Buffer.concat([bom, text])));
    expect(await readAll(source)).toHaveLength(2);
    expect(titlesOf(source)).toEqual(new Set(['CRÈME BRÛLÉE “SET” – €']));
  });

  it('keeps a Windows-1252 byte that ends the first 64 KiB chunk (it looked like the start of a UTF-8 character)', async () => {
    let text = `${header}\n`;
    let i = 0;
    while (text.length < 65_000) text += `${i},A,PLAIN,1,2010-12-01 08:26,1,${i++},UK\n`;
    const prefix = `${i},EDGE,`;
    text += `${prefix}${'X'.repeat(65_535 - text.length - prefix.length)}ÈME,1,2010-12-01 08:26,1,${i},UK\n`;
    expect(text.indexOf('È')).toBe(65_535);
    const source = onlineRetailSource(await fixture('edge.csv', asWindows1252(text)));
    await readAll(source);
    expect([...(source.items.get('EDGE')?.titles.keys() ?? [])][0]).toMatch(/^X+ÈME$/);
  });
});

describe('events reader on a mongoexport of the events collection', () => {
  it('reads Extended JSON dates and _id as the mongodb reader does, and refuses a JSON array with why', async () => {
    const doc = (id: string, date: unknown) =>
      JSON.stringify({
        _id: id,
        type: 'track',
        event: 'Product Viewed',
        anonymousId: 'a1',
        timestamp: date,
        receivedAt: { $date: '2024-05-01T10:30:00Z' },
        site: 'shop-1',
        properties: { product_id: id === 'm1' ? 'P1' : 'P2' },
      });
    const file = await fixture(
      'events.jsonl',
      `${doc('m1', { $date: '2024-05-01T10:01:00Z' })}\n${doc('m2', { $date: { $numberLong: '1714557720000' } })}\n`,
    );
    const source = eventsSource(file);
    const rows = await readAll(source);
    expect(source.report.rows).toEqual({ read: 2, kept: 2 });
    expect(rows.map((r) => [r.item, new Date(r.time).toISOString(), r.store])).toEqual([
      ['P1', '2024-05-01T10:01:00.000Z', 'shop-1'],
      ['P2', '2024-05-01T10:02:00.000Z', 'shop-1'],
    ]);
    const array = await fixture('events.json', `[${doc('m1', '2024-05-01T10:01:00Z')}]\n`);
    await expect(readAll(eventsSource(array))).rejects.toThrow(
      /is a JSON array; the events format is JSON Lines/,
    );
  });
});
