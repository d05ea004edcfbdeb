/**
 * `npm run eval -- --format F --input PATH [--cutoff YYYY-MM-DD] [--half-life DAYS] [--json FILE] [--hidden H] [--epochs N]`
 * Prints one table of every model beside popularity and writes it as JSON.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inputName, isFormat } from '../data/sources';
import { runEvaluation } from '../eval/run-eval';
import { formatTable } from '../eval/table';
import { parseArgs, positiveInt, positiveNumber, required, runCommand, UsageError } from './args';
import { checkOutputFile } from './output-file';

const USAGE = `usage: npm run eval -- --format online-retail|movielens|events|mongodb --input PATH
  [--cutoff YYYY-MM-DD]   temporal split date (not movielens); default: the day by which 90% happened
  [--half-life DAYS]      older training interactions count less (halved every DAYS); default: no decay
  [--history full|served] rank from each user's whole training history (default), or from what the
                          worker would hold at the cut-off (its recent-activity list; not movielens)
  [--activity-days N]     with --history served: days activity lives after a shopper's last event
                          (365, a signed-in shopper's by default; 30 is an anonymous one's)
  [--json FILE]           default trainer/results/eval-FORMAT.json
  [--hidden 128] [--epochs 16] [--seed 42]   Mult-DAE
  [--lambda 500] [--rank 128]               EASE (low rank above 1,000 items)`;

runCommand(USAGE, async () => {
  const args = parseArgs(process.argv.slice(2), [
    'format',
    'input',
    'cutoff',
    'half-life',
    'history',
    'activity-days',
    'json',
    'hidden',
    'epochs',
    'seed',
    'lambda',
    'rank',
  ]);
  const format = required(args, 'format');
  if (!isFormat(format)) throw new UsageError(`unknown --format "${format}"`);
  const history = args.get('history') ?? 'full';
  if (history !== 'full' && history !== 'served')
    throw new UsageError(`--history must be full or served, got "${history}"`);
  if (args.has('activity-days') && history !== 'served')
    throw new UsageError('--activity-days goes with --history served');
  const options = {
    format,
    input: required(args, 'input'),
    ...(args.has('cutoff') ? { cutoff: required(args, 'cutoff') } : {}),
    hidden: positiveInt(args, 'hidden', 128),
    epochs: positiveInt(args, 'epochs', 16),
    seed: positiveInt(args, 'seed', 42),
    rank: positiveInt(args, 'rank', 128),
    ...(args.has('lambda') ? { lambda: positiveNumber(args, 'lambda') } : {}),
    ...(args.has('half-life') ? { halfLifeDays: positiveNumber(args, 'half-life') } : {}),
    ...(history === 'served' ? { history: 'served' as const } : {}),
    ...(args.has('activity-days') ? { activityDays: positiveNumber(args, 'activity-days') } : {}),
  };
  const file = args.get('json') ?? path.join('trainer', 'results', `eval-${format}.json`);
  await checkOutputFile('json', file);
  const result = await runEvaluation({ ...options, log: (line) => console.log(line) });
  console.log(`\n${formatTable(result)}`);
  // What reproduces the figures: the options and the code they ran on.
  const run = { options: { ...options, input: inputName(format, options.input) }, commit: gitCommit() };
  const record = { ...result, run, createdAt: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
});

/** The commit the figures come from, `+dirty` when the tree had changes; null without git. */
function gitCommit(): string | null {
  try {
    const git = (...command: string[]) =>
      execFileSync('git', command, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `${git('rev-parse', 'HEAD')}${git('status', '--porcelain') ? '+dirty' : ''}`;
  } catch {
    return null;
  }
}
