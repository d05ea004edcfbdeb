/**
 * `npm run bench -- NAME`: runs `bench/benchmarks/NAME.ts`, prints its table and writes
 * `bench/results/NAME.json`. Each benchmark default-exports `(args: string[]) => Promise<BenchResult>`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** Changed paths kept in a result: enough to see what differed from the commit, not a diff. */
const MAX_DIRTY_PATHS = 20;

/** A fact about the run that may be unavailable (no git, a package not installed): null then, not a failed run. */
function attempt<T>(get: () => T): T | null {
  try {
    return get();
  } catch {
    return null;
  }
}

const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/** Which code ran: the commit, and whether (and where) the working tree differed from it. */
function source() {
  const changed = attempt(() => git('status', '--porcelain').split('\n').filter(Boolean));
  return {
    commit: attempt(() => git('rev-parse', 'HEAD').trim()),
    dirty: changed === null ? null : changed.length > 0,
    changedPaths: changed?.slice(0, MAX_DIRTY_PATHS).map((line) => line.slice(3)) ?? null,
    changedPathCount: changed?.length ?? null,
  };
}

/** An installed package's version, from its package.json. */
function packageVersion(name: string): string | null {
  return attempt(() => {
    const file = path.join(root, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  });
}

/** The local runtime's versions: the worker rows measure wrangler dev and workerd, not only our code. */
function runtimeVersions(): Record<string, string | null> {
  return {
    wrangler: packageVersion('wrangler'),
    workerd: packageVersion('workerd'),
    miniflare: packageVersion('miniflare'),
  };
}

async function available(): Promise<string[]> {
  const files = await readdir(path.join(here, 'benchmarks'));
  return files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.slice(0, -3));
}

function printTable(result: BenchResult): void {
  const widths = result.columns.map((column) =>
    Math.max(column.length, ...result.rows.map((row) => String(row[column] ?? '').length)),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(`\n${result.title}\n`);
  console.log(line(result.columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of result.rows) console.log(line(result.columns.map((column) => String(row[column] ?? ''))));
  for (const note of result.notes ?? []) console.log(`\n${note}`);
}

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const names = await available();
  if (!name || !names.includes(name)) {
    console.error(`usage: npm run bench -- NAME [args]\navailable: ${names.join(', ')}`);
    process.exit(2);
  }
  const module = (await import(`./benchmarks/${name}.ts`)) as {
    default: (args: string[]) => Promise<BenchResult>;
  };
  const startedAt = new Date().toISOString();
  // Taken before the run: the tree may change while a long benchmark runs.
  const code = source();
  const loadBefore = attempt(() => os.loadavg());
  const result = await module.default(args);
  const loadAfter = attempt(() => os.loadavg());
  printTable(result);
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: attempt(() => os.release()),
    // 1, 5 and 15 minute averages: on a shared machine, how busy it was around the run.
    loadAverage: { before: loadBefore, after: loadAfter },
  };
  await mkdir(path.join(here, 'results'), { recursive: true });
  const file = path.join(here, 'results', `${result.variant ? `${name}-${result.variant}` : name}.json`);
  const record = { name, startedAt, source: code, runtime: runtimeVersions(), machine, ...result };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
