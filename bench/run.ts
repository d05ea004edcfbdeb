/**
 * `npm run bench -- NAME`: runs `bench/benchmarks/NAME.ts`, prints its table and writes
 * `bench/results/NAME.json`. Each benchmark default-exports `(args: string[]) => Promise<BenchResult>`.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types';

const here = path.dirname(fileURLToPath(import.meta.url));

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
  const result = await module.default(args);
  printTable(result);
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  await mkdir(path.join(here, 'results'), { recursive: true });
  const file = path.join(here, 'results', `${result.variant ? `${name}-${result.variant}` : name}.json`);
  await writeFile(file, `${JSON.stringify({ name, startedAt, machine, ...result }, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
