/**
 * `npm run bench -- train [PATH] [--personal M] [--epochs N] [--hidden H] ...`: trains the full bundle
 * on Online Retail (default ../shared/datasets/online-retail/online_retail.csv.gz) in a child process
 * exactly as `npm run train` does, and records wall time, the child's CPU time and peak RSS
 * (getrusage). Without options it runs the default, `--personal auto`: EASE (λ, recency half-life and
 * popularity exponent chosen) and the TF.js Mult-DAE both trained on one temporal validation, scored
 * on the lists the worker would serve, the better shipped — one row with both validation scores. Options (e.g. `--personal ease`) run that variant instead.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTrainerCommand, trainerReportedUsage } from '../support/trainer-command';
import type { BenchResult } from '../types';

const DEFAULT_INPUT = '../shared/datasets/online-retail/online_retail.csv.gz';

interface Run {
  args: string[];
  seconds: number;
  output: string;
  load: number;
}

async function trainOnce(input: string, extra: string[]): Promise<Run> {
  const out = path.join(await mkdtemp(path.join(tmpdir(), 'rx-bench-train-')), 'bundle');
  const run = await runTrainerCommand(
    'train',
    ['--format', 'online-retail', '--input', input, '--out', out, ...extra],
    { echo: true },
  );
  await rm(path.dirname(out), { recursive: true, force: true });
  if (run.code !== 0)
    throw new Error(`training (${extra.join(' ') || 'defaults'}) failed with exit code ${run.code}`);
  return { args: extra, seconds: run.seconds, output: run.stdout, load: run.load };
}

/** `auto`'s comparison line: EASE's chosen settings and both validation nDCG@10 scores, or blanks. */
function comparison(output: string): { ease: string; dae: string; settings: string } {
  const match = /EASE \((λ \d+[^)]*)\) ([\d.]+) vs Mult-DAE \(epoch \d+\) ([\d.]+)/.exec(output);
  return { settings: match?.[1] ?? '–', ease: match?.[2] ?? '–', dae: match?.[3] ?? '–' };
}

function row(input: string, run: Run): Record<string, string | number> {
  const personal = /personal model: (.+?)(?: on TF\.js| \(|$)/m.exec(run.output)?.[1] ?? 'unknown';
  const scores = comparison(run.output);
  // The training process reports its own getrusage CPU time and maxRSS as its last line; without it,
  // the run fails (the columns would be NaN).
  const usage = trainerReportedUsage(run.output);
  const option = run.args.findIndex((a) => a === '--personal' || a.startsWith('--personal='));
  const asked = option < 0 ? 'auto (default)' : (run.args[option]?.split('=')[1] ?? run.args[option + 1]);
  return {
    input: path.basename(input),
    '--personal': asked ?? 'auto (default)',
    'shipped personal': personal,
    'EASE settings': scores.settings,
    'EASE val nDCG@10': scores.ease,
    'Mult-DAE val nDCG@10': scores.dae,
    'wall time (s)': run.seconds.toFixed(1),
    'CPU time (s)': usage.cpuSeconds.toFixed(1),
    'peak RSS (MiB)': usage.peakRssMiB.toFixed(0),
    epochs: run.output.match(/^epoch +\d+/gm)?.length ?? 0,
    backend: /TF\.js backend (.+)$/m.exec(run.output)?.[1] ?? 'none (closed form)',
    'load average': run.load.toFixed(1),
  };
}

export default async function trainBenchmark(args: string[]): Promise<BenchResult> {
  const input = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? DEFAULT_INPUT;
  const extra = args.filter((a, i) => a.startsWith('--') || args[i - 1]?.startsWith('--'));
  const variants = [extra];
  const runs: Run[] = [];
  for (const variant of variants) runs.push(await trainOnce(input, variant));
  return {
    title: 'Training the full bundle on Online Retail (npm run train)',
    columns: [
      'input',
      '--personal',
      'shipped personal',
      'EASE settings',
      'EASE val nDCG@10',
      'Mult-DAE val nDCG@10',
      'wall time (s)',
      'CPU time (s)',
      'peak RSS (MiB)',
      'epochs',
      'backend',
      'load average',
    ],
    rows: runs.map((run) => row(input, run)),
    notes: [
      "Wall time includes reading and cleaning the CSV, all three models (under auto: both personal candidates) and writing the bundle; CPU time and peak RSS are the training process's own getrusage figures.",
      "Validation nDCG@10 is scored on the same customers for both candidates: fitted before the cut-off (the day by which 90 % of the interactions happened), each customer's next purchases of items new to them are to be found in the lists the worker would serve (the exported graph's top-50 in onnxruntime-web, best sellers where it has no evidence, at most 40 % from one family).",
      'On a shared machine wall time grows with the load average; CPU time does not.',
    ],
    details: {
      input,
      runs: runs.map((run) => ({ args: run.args, output: run.output.split('\n').slice(-12) })),
    },
  };
}
