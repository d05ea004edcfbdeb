import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError, splitCsvLine } from './lines';
import { onlineRetailSource, parseRetailDate } from './online-retail';
import { readAll } from './sources';

const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const ROWS = [
  '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom', // 2 kept
  'C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom', // 3 cancellation
  '536370,POST,POSTAGE,3,2010-12-01 08:45:00,18.0,12583.0,France', // 4 postage
  '536414,22139,,56,2010-12-01 11:52:00,0.0,,United Kingdom', // 5 zero price
  '581483,23843,"PAPER CRAFT , LITTLE BIRDIE",80995,2011-12-09 09:15:00,2.08,16446.0,United Kingdom', // 6 absurd
  '536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,2.51,,United Kingdom', // 7 no customer
  '536365,71053,WHITE METAL LANTERN,six,2010-12-01 08:26:00,3.39,17850.0,United Kingdom', // 8 bad quantity
  '536365,71053,"UNTERMINATED,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom', // 9 bad quote
  '536365,71053,WHITE METAL LANTERN,6,yesterday,3.39,17850.0,United Kingdom', // 10 bad date
  '536366,22633,"HAND WARMER ""UNION JACK""",6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom', // 11 kept, quoted
  '536367,84879a,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,United Kingdom', // 12 kept, as spelled
  '536368,22960,JAM MAKING SET,-2,2010-12-01 08:34:00,4.25,13047.0,United Kingdom', // 13 adjustment
  '536369,22961,TOO FEW,1,2010-12-01 08:34:00', // 14 columns
];

async function fixture(name: string, text: string | Buffer): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rx-retail-'));
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('online-retail reader', () => {
  it('keeps clean purchases and counts every skipped row by reason with line numbers', async () => {
    const file = await fixture('retail.csv.gz', gzipSync(`${[HEADER, ...ROWS].join('\n')}\n`));
    const source = onlineRetailSource(file);
    const rows = await readAll(source);
    expect(rows.map((r) => [r.user, r.item, r.quantity, r.store])).toEqual([
      ['17850', '85123A', 6, 'United Kingdom'],
      ['17850', '22633', 6, 'United Kingdom'],
      ['13047', '84879a', 32, 'United Kingdom'],
    ]);
    expect(rows[0]?.time).toBe(Date.UTC(2010, 11, 1, 8, 26));
    expect(source.items.get('22633')?.titles.has('HAND WARMER "UNION JACK"')).toBe(true);
    const skipped = Object.fromEntries(source.report.skipped().map((s) => [s.reason, s.firstLines]));
    expect(skipped).toEqual({
      cancellation: [3],
      'postage, fee or adjustment line': [4],
      'zero or negative unit price': [5],
      'absurd quantity (> 10000)': [6],
      'missing customer id': [7],
      'quantity is not a number': [8],
      'unterminated quote': [9],
      'unreadable invoice date': [10],
      'non-positive quantity (stock adjustment)': [13],
      'expected 8 columns': [14],
    });
    expect(source.report.rows).toEqual({ read: 13, kept: 3 });
  });

  it('keeps rows without a customer as guest sales when asked (the forecast), never for the recommenders', async () => {
    const file = await fixture('guests.csv', `${[HEADER, ...ROWS].join('\n')}\n`);
    const forecast = onlineRetailSource(file, { guestSales: true });
    const rows = await readAll(forecast);
    expect(rows.map((r) => [r.user, r.item, r.quantity, r.guest])).toEqual([
      ['17850', '85123A', 6, undefined],
      ['', '21773', 1, true],
      ['17850', '22633', 6, undefined],
      ['13047', '84879a', 32, undefined],
    ]);
    expect(forecast.report.rows).toEqual({ read: 13, kept: 4 });
    expect(forecast.report.summary()).toContain('note: 1 kept rows have no customer id: guest sales');
    expect(forecast.report.skipped().map((s) => s.reason)).not.toContain('missing customer id');
    // The default (train, eval, recommend) is unchanged: the row is skipped and counted.
    const recommenders = await readAll(onlineRetailSource(file));
    expect(recommenders.some((r) => r.guest || r.user === '')).toBe(false);
  });

  it('rejects a file that is not Online Retail, an empty file and a missing file', async () => {
    await expect(readAll(onlineRetailSource(await fixture('x.csv', 'a,b,c\n1,2,3\n')))).rejects.toThrow(
      /not an Online Retail CSV/,
    );
    await expect(readAll(onlineRetailSource(await fixture('empty.csv', '')))).rejects.toThrow(InputError);
    await expect(readAll(onlineRetailSource('/nonexistent/retail.csv'))).rejects.toThrow(/cannot open input/);
  });

  it('splits RFC 4180 CSV lines', () => {
    expect(splitCsvLine('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', '']);
    expect(splitCsvLine('"open,x')).toBeNull();
  });

  it('reads both date formats as UTC and refuses dates that do not exist (instead of rolling them over)', () => {
    expect(parseRetailDate('2010-12-01 08:26:00')).toBe(Date.UTC(2010, 11, 1, 8, 26));
    expect(parseRetailDate('12/1/2010 8:26')).toBe(Date.UTC(2010, 11, 1, 8, 26));
    expect(parseRetailDate('2011-02-30 10:00')).toBeNull();
    expect(parseRetailDate('2/30/2011 10:00')).toBeNull();
    expect(parseRetailDate('2011-02-28 25:00')).toBeNull();
  });
});
