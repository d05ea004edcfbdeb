/** What `recommend` leaves behind when its output cannot be written (a full disk). */
import { existsSync, symlinkSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFixtureBundle } from '../bundle/fixture';
import { recommendToCsv } from './recommend';

describe('recommend on a full disk', { timeout: 60_000 }, () => {
  it('rejects with ENOSPC (an error message, not a crash) and removes its temporary file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-recommend-output-'));
    const model = path.join(dir, 'bundle');
    await writeFixtureBundle(model, { items: 20 });
    // 600 shoppers: three model runs of 256, so the header's write fails while a run is under way.
    const events = Array.from({ length: 600 }, (_, shopper) => ({
      type: 'track',
      event: 'Product Viewed',
      anonymousId: `a${shopper}`,
      timestamp: new Date(Date.UTC(2024, 4, 1, 10, shopper % 60)).toISOString(),
      properties: { product_id: `P${String((shopper % 20) + 1).padStart(4, '0')}` },
    }));
    const input = path.join(dir, 'events.jsonl');
    await writeFile(input, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
    const out = path.join(dir, 'top.csv');
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    const temp = `${out}.tmp-${process.pid}`;
    symlinkSync('/dev/full', temp);

    await expect(recommendToCsv({ model, format: 'events', input, k: 5, out })).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });
});

describe('recommend: whose lists', { timeout: 60_000 }, () => {
  it('writes a browser nobody signed in on under its anonymous id, apart from the same user id', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rx-recommend-ids-'));
    const model = path.join(dir, 'bundle');
    await writeFixtureBundle(model, { items: 20 });
    const at = (minute: number) => new Date(Date.UTC(2024, 4, 1, 10, minute)).toISOString();
    const events = [
      {
        type: 'track',
        event: 'Order Completed',
        anonymousId: '42',
        timestamp: at(1),
        properties: { order_id: 'o1', products: [{ product_id: 'P0001', quantity: 1 }] },
      },
      {
        type: 'track',
        event: 'Order Completed',
        anonymousId: 'web-9',
        userId: '42',
        timestamp: at(2),
        properties: { order_id: 'o2', products: [{ product_id: 'P0002', quantity: 1 }] },
      },
    ];
    const input = path.join(dir, 'events.jsonl');
    await writeFile(input, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
    const out = path.join(dir, 'top.csv');
    const written = await recommendToCsv({ model, format: 'events', input, k: 3, out });
    expect(written.users).toBe(2);
    const rows = (await readFile(out, 'utf8')).trim().split('\n').slice(1);
    // Two shoppers named "42", the browser's list first (input order), each of 3 items.
    expect(rows.map((row) => row.split(',')[0])).toEqual(['42', '42', '42', '42', '42', '42']);
    expect(rows.join('\n')).not.toContain('\u0000');
    // Each list leaves out what its own shopper bought: the browser P0001, the customer P0002.
    expect(rows.slice(0, 3).some((row) => row.includes(',P0001,'))).toBe(false);
    expect(rows.slice(3).some((row) => row.includes(',P0002,'))).toBe(false);
  });
});
