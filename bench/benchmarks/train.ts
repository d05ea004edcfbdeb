/**
 * `npm run bench -- train [PATH] [--epochs N] [--hidden H]`: trains the full bundle on Online Retail
 * (default ../shared/datasets/online-retail/online_retail.csv.gz) in a child process exactly as
 * `npm run train` does, and records wall time and the child's peak RSS (getrusage maxrss).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchResult } from '../types';

const DEFAULT_INPUT = '../shared/datasets/online-retail/online_retail.csv.gz';

export default async function trainBenchmark(args: string[]): Promise<BenchResult> {
  const input = args.find((a) => !a.startsWith('--')) ?? DEFAULT_INPUT;
  const extra = args.filter((a, i) => a.startsWith('--') || args[i - 1]?.startsWith('--'));
  const out = path.join(await mkdtemp(path.join(tmpdir(), 'rx-bench-train-')), 'bundle');
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'trainer/cli/train.ts',
      '--format',
      'online-retail',
      '--input',
      input,
      '--out',
      out,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    process.stdout.write(chunk);
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const seconds = (performance.now() - started) / 1000;
  // The training process reports its own getrusage maxRSS as its last line.
  const peakRssMiB = Number(/peak RSS (\d+) MiB/.exec(output)?.[1] ?? Number.NaN);
  await rm(path.dirname(out), { recursive: true, force: true });
  if (code !== 0) throw new Error(`training failed with exit code ${code}`);
  const cpuSeconds = Number(/CPU ([\d.]+) s/.exec(output)?.[1] ?? Number.NaN);
  const epochs = output.match(/^epoch +\d+/gm)?.length ?? 0;
  const backend = /TF\.js backend (.+)$/m.exec(output)?.[1] ?? 'unknown';
  return {
    title: 'Training the full bundle on Online Retail (npm run train)',
    columns: [
      'input',
      'wall time (s)',
      'CPU time (s)',
      'peak RSS (MiB)',
      'epochs',
      'backend',
      'load average',
    ],
    rows: [
      {
        input: path.basename(input),
        'wall time (s)': seconds.toFixed(1),
        'CPU time (s)': cpuSeconds.toFixed(1),
        'peak RSS (MiB)': peakRssMiB.toFixed(0),
        epochs,
        backend,
        // Other work on the machine stretches wall time; CPU time is what training itself costs.
        'load average': loadavg()[0]?.toFixed(1) ?? '',
      },
    ],
    notes: [
      "Wall time includes reading and cleaning the CSV, all three models and writing the bundle; peak RSS is the training process's getrusage maxRSS.",
    ],
    details: { input, args: extra, output: output.split('\n').slice(-12) },
  };
}
