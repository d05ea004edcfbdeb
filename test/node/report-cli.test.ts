/** `npm run report` as a user runs it (tsx trainer/cli/report.ts), on a JSONL export of stored events. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../contracts/events';
import { cli } from '../support/trainer-cli';

let dir = '';
let input = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rx-report-cli-'));
  input = path.join(dir, 'events.jsonl');
  const events: StoredEvent[] = [];
  for (let i = 0; i < 200; i++) {
    const base = {
      anonymousId: `s${i}`,
      timestamp: `2026-11-0${1 + (i % 5)}T10:00:00.000Z`,
      receivedAt: '2026-11-06T00:00:00.000Z',
      site: 'demo',
      bucket: i % 10 === 0 ? ('holdout' as const) : ('treatment' as const),
      model_version: null,
    };
    events.push({ ...base, type: 'page', messageId: `p${i}` });
    if (i % 4 === 0)
      events.push({
        ...base,
        type: 'track',
        event: 'Order Completed',
        messageId: `o${i}`,
        properties: { order_id: `o${i}`, revenue: 10 + (i % 3), currency: 'GBP' },
      });
  }
  await writeFile(input, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each case starts a tsx process (a few seconds each when the suite's other files load the machine).
describe('npm run report', { timeout: 120_000 }, () => {
  it('prints the arms side by side and writes the report as JSON', async () => {
    const json = path.join(dir, 'report.json');
    const run = await cli('report', [
      '--format',
      'events',
      '--input',
      input,
      '--holdout-percent',
      '10',
      '--json',
      json,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'shoppers (browsers): treatment 180, holdout 20; 10.0 % held out, 10 % configured',
    );
    // Every fourth shopper bought; every tenth is held out, and half of those bought (i % 20 = 0).
    expect(run.stdout).toMatch(
      /\| conversion \(shoppers with an order\) \| 22\.22 % \(40\) \| 50\.00 % \(10\) \| -27\.78 pt .* \| 0\.0065 \|/,
    );
    // Which tests and intervals, said under the table.
    expect(run.stdout).toContain(
      "p and 95 % intervals: conversion, the pooled z test (chi-square) and the score intervals that invert it; revenue per shopper, a permutation test of Welch's t (10,000 relabellings, seeded)",
    );
    const written = JSON.parse(await readFile(json, 'utf8'));
    expect(written.arms.treatment).toMatchObject({ shoppers: 180, converted: 40, orders: 40 });
    // SciPy's chi-square test of the 2×2 table: 0.0064955862571790335.
    expect(written.conversion.pValue).toBeCloseTo(0.0064955862571790335, 6);
    expect(written.run).toMatchObject({
      format: 'events',
      input: 'events.jsonl',
      holdoutPercent: 10,
      attributionDays: 7,
    });
  });

  it('keeps to the days asked for, the last one included', async () => {
    const run = await cli('report', [
      '--format',
      'events',
      '--input',
      input,
      '--from',
      '2026-11-02',
      '--to',
      '2026-11-03',
    ]);
    expect(run.code).toBe(0);
    // Days 2 and 3: shoppers 1, 2, 6, 7, … (i % 5 of 1 and 2): 80 of the 200, none held out, 20 orders.
    expect(run.stdout).toMatch(/read 250 rows, kept 100/);
    expect(run.stdout).toContain('treatment 80, holdout 0');
    expect(run.stdout).toContain('- no shoppers in the holdout arm: nothing to compare');
  });

  it('refuses what it cannot report on, with a reason and exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--format', 'online-retail', '--input', input], /--format must be events or mongodb/],
      [
        ['--format', 'events', '--input', input, '--from', '2026-02-30'],
        /--from must be a day as YYYY-MM-DD/,
      ],
      [
        ['--format', 'events', '--input', input, '--from', '2026-11-05', '--to', '2026-11-01'],
        /--to is before --from/,
      ],
      [
        ['--format', 'events', '--input', input, '--holdout-percent', '100'],
        /--holdout-percent must be below 100/,
      ],
      [['--input', input], /--format is required/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli('report', args)));
    runs.forEach((run, index) => {
      const [args, message] = cases[index] ?? [[], /never/];
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    });
  });

  it('says so when nothing matches the window', async () => {
    const run = await cli('report', ['--format', 'events', '--input', input, '--from', '2027-01-01']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no stored event in the input matches the site and window/);
  });
});
