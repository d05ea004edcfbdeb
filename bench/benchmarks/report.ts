/**
 * `npm run bench -- report [--browsers N,N]`: how long `npm run report` takes and how much memory it
 * needs, on synthetic stored events (a JSONL export of the events collection) for 20,000 and 200,000
 * browsers. Each browser has page views, a filled product page, and some recommendation clicks and
 * orders (seeded, so every run reads the same file). The report runs in a child process exactly as
 * `npm run report` does; wall time from here, CPU time and peak RSS from the child's own getrusage.
 * A file comes in any order, so the report keeps a small record per browser until the end, and memory
 * grows with browsers: the rows give the slope. (From MongoDB it reads sorted by browser and holds one.)
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StoredEvent } from '../../contracts/events';
import { seededRandom } from '../../scripts/demo-traffic/random';
import { runTrainerCommand } from '../support/trainer-command';
import type { BenchResult } from '../types';

const DEFAULT_BROWSERS = [20_000, 200_000];
/** The heap limit of the last row, MiB. */
const HEAP_CAP_MIB = 192;

/** Writes the events of `browsers` synthetic browsers; returns how many events. */
async function writeEvents(file: string, browsers: number): Promise<number> {
  const random = seededRandom(42);
  const out = createWriteStream(file);
  let events = 0;
  const start = Date.UTC(2026, 10, 1);
  for (let b = 0; b < browsers; b++) {
    const bucket = random.chance(0.1) ? 'holdout' : 'treatment';
    const anonymousId = `00000000-0000-4000-8000-${b.toString(16).padStart(12, '0')}`;
    const time = start + Math.floor(random.next() * 14 * 86_400_000);
    const base = (offsetMs: number) => ({
      anonymousId,
      timestamp: new Date(time + offsetMs).toISOString(),
      receivedAt: new Date(time + offsetMs + 50).toISOString(),
      site: 'shop',
      bucket,
      model_version: null,
      context: { library: { name: 'rx.js' }, page: { path: '/' } },
    });
    const lines: StoredEvent[] = [];
    const pages = random.int(1, 5);
    for (let p = 0; p < pages; p++)
      lines.push({ ...base(p * 20_000), type: 'page', messageId: `p${b}-${p}`, name: 'home' } as StoredEvent);
    const product = `P${random.int(1, 3000)}`;
    lines.push({
      ...base(pages * 20_000),
      type: 'track',
      event: 'Product Viewed',
      messageId: `v${b}`,
      properties: { product_id: product, ...(bucket === 'treatment' ? { recommendation_id: `r${b}` } : {}) },
    } as StoredEvent);
    if (bucket === 'treatment' && random.chance(0.3))
      lines.push({
        ...base(pages * 20_000 + 5_000),
        type: 'track',
        event: 'Recommendation Clicked',
        messageId: `c${b}`,
        properties: { product_id: product, placement: 'product', recommendation_id: `r${b}` },
      } as StoredEvent);
    if (random.chance(0.25))
      lines.push({
        ...base(pages * 20_000 + 60_000),
        type: 'track',
        event: 'Order Completed',
        messageId: `o${b}`,
        properties: {
          order_id: `o${b}`,
          currency: 'GBP',
          products: [
            { product_id: product, price: 4.95, quantity: random.int(1, 4) },
            { product_id: `P${random.int(1, 3000)}`, price: 2.1, quantity: 1 },
          ],
        },
      } as StoredEvent);
    events += lines.length;
    if (!out.write(`${lines.map((line) => JSON.stringify(line)).join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return events;
}

interface Run {
  browsers: number;
  /** `--max-old-space-size` of the run, MiB; none: Node's default. */
  heapCapMiB?: number;
  events: number;
  fileMiB: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  load: number;
}

async function reportOnce(file: string, browsers: number, events: number, heapCapMiB?: number): Promise<Run> {
  const run = await runTrainerCommand('report', ['--format', 'events', '--input', file], {
    usage: true,
    ...(heapCapMiB ? { heapMiB: heapCapMiB } : {}),
  });
  if (run.code !== 0) throw new Error(`npm run report failed (${run.code}): ${run.stderr.trim()}`);
  // The report's own first line says how many events it read: all of them, or the file is wrong.
  const read = Number(/^read (\d+) rows, kept (\d+)/m.exec(run.stdout)?.[2] ?? Number.NaN);
  if (read !== events) throw new Error(`the report kept ${read} of ${events} events`);
  return {
    browsers,
    ...(heapCapMiB ? { heapCapMiB } : {}),
    events,
    fileMiB: (await stat(file)).size / 2 ** 20,
    seconds: run.seconds,
    cpuSeconds: run.usage?.cpuSeconds ?? Number.NaN,
    maxRssMiB: run.usage?.maxRssMiB ?? Number.NaN,
    load: run.load,
  };
}

export default async function reportBenchmark(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({ args, options: { browsers: { type: 'string' } } });
  const sizes = values.browsers?.split(',').map(Number) ?? DEFAULT_BROWSERS;
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--browsers must be whole numbers above 0, comma separated, got "${values.browsers}"`);
  const dir = await mkdtemp(path.join(tmpdir(), 'rx-bench-report-'));
  const runs: Run[] = [];
  try {
    for (const [index, browsers] of sizes.entries()) {
      const file = path.join(dir, `events-${browsers}.jsonl`);
      const events = await writeEvents(file, browsers);
      runs.push(await reportOnce(file, browsers, events));
      // Peak RSS says how lazily V8 collected as much as what the report keeps: the largest file again
      // with the heap capped shows what it needs.
      if (index === sizes.length - 1) runs.push(await reportOnce(file, browsers, events, HEAP_CAP_MIB));
      await rm(file);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const uncapped = runs.filter((run) => run.heapCapMiB === undefined);
  const [small, large] = [uncapped[0], uncapped.at(-1)];
  const perBrowserKiB =
    small && large && large.browsers > small.browsers
      ? ((large.maxRssMiB - small.maxRssMiB) * 1024) / (large.browsers - small.browsers)
      : undefined;
  return {
    ...(values.browsers ? { variant: `browsers-${sizes.join('-')}` } : {}),
    title: 'npm run report on a JSONL export of stored events (synthetic, seeded)',
    columns: [
      'browsers',
      'heap limit',
      'events',
      'file (MiB)',
      'wall time (s)',
      'CPU time (s)',
      'events/s',
      'peak RSS (MiB)',
      'load average',
    ],
    rows: runs.map((run) => ({
      browsers: run.browsers,
      'heap limit': run.heapCapMiB ? `${run.heapCapMiB} MiB` : 'default',
      events: run.events,
      'file (MiB)': run.fileMiB.toFixed(0),
      'wall time (s)': run.seconds.toFixed(1),
      'CPU time (s)': run.cpuSeconds.toFixed(1),
      'events/s': Math.round(run.events / run.seconds),
      'peak RSS (MiB)': run.maxRssMiB.toFixed(0),
      'load average': run.load.toFixed(1),
    })),
    notes: [
      "Wall time includes starting Node and tsx (about 1 s); CPU time and peak RSS are the report process's own getrusage figures.",
      ...(perBrowserKiB === undefined
        ? []
        : [
            `Peak RSS grows by about ${perBrowserKiB.toFixed(1)} KiB per browser in the window (between the first and last rows with the default heap). V8 collects lazily, so that is more than the report keeps: the last row reads the largest file again with the heap limited to ${HEAP_CAP_MIB} MiB.`,
          ]),
    ],
    details: { runs },
  };
}
