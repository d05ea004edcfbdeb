import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { movielensSource } from './movielens';
import { readAll } from './sources';

describe('MovieLens reader', () => {
  it('skips and counts a timestamp that is not seconds since 1970 (milliseconds, garbage) instead of failing at the end', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'rx-ml-')), 'u.data');
    const lines = [
      '1\t10\t5\t881250949',
      '1\t20\t3\t1e20', // past what a Date holds: "Invalid time value" when the bundle was written
      '2\t10\t4\t881250949000', // milliseconds: the year 29,900
      '2\t30\t4\t-5',
      '2\t20\t2\t881251000',
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const source = movielensSource(file);
    const rows = await readAll(source);
    expect(rows.map((r) => [r.user, r.item, new Date(r.time).toISOString().slice(0, 10)])).toEqual([
      ['1', '10', '1997-12-04'],
      ['2', '20', '1997-12-04'],
    ]);
    expect(source.report.skipped()).toEqual([
      expect.objectContaining({
        reason: 'timestamp is not seconds between 1970 and 2100 (milliseconds?)',
        firstLines: [2, 3, 4],
      }),
    ]);
  });
});
