/**
 * `npm run eval -- --format F --input PATH [--cutoff YYYY-MM-DD] [--json FILE] [--hidden H] [--epochs N]`
 * Prints one table of every model beside popularity and writes it as JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isFormat } from '../data/sources';
import { runEvaluation } from '../eval/run-eval';
import { formatTable } from '../eval/table';
import { parseArgs, positiveInt, positiveNumber, required, runCommand, UsageError } from './args';

const USAGE = `usage: npm run eval -- --format online-retail|movielens|events|mongodb --input PATH
  [--cutoff YYYY-MM-DD]   temporal split date (not movielens); default: the day by which 90% happened
  [--json FILE]           default trainer/results/eval-FORMAT.json
  [--hidden 128] [--epochs 16] [--seed 42]   Mult-DAE
  [--lambda 500] [--rank 128]               EASE (low rank above 1,000 items)`;

runCommand(USAGE, async () => {
  const args = parseArgs(process.argv.slice(2), [
    'format',
    'input',
    'cutoff',
    'json',
    'hidden',
    'epochs',
    'seed',
    'lambda',
    'rank',
  ]);
  const format = required(args, 'format');
  if (!isFormat(format)) throw new UsageError(`unknown --format "${format}"`);
  const result = await runEvaluation({
    format,
    input: required(args, 'input'),
    ...(args.has('cutoff') ? { cutoff: required(args, 'cutoff') } : {}),
    hidden: positiveInt(args, 'hidden', 128),
    epochs: positiveInt(args, 'epochs', 16),
    seed: positiveInt(args, 'seed', 42),
    rank: positiveInt(args, 'rank', 128),
    ...(args.has('lambda') ? { lambda: positiveNumber(args, 'lambda') } : {}),
    log: (line) => console.log(line),
  });
  console.log(`\n${formatTable(result)}`);
  const file = args.get('json') ?? path.join('trainer', 'results', `eval-${format}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ ...result, createdAt: new Date().toISOString() }, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
});
