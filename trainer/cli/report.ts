/**
 * `npm run report -- --format events|mongodb --input PATH [--site S] [--from DAY] [--to DAY]
 *   [--holdout-percent P] [--attribution-days D] [--json FILE]`
 * The experiment report: personalized shoppers (treatment) against the holdout, from the stored
 * events (trainer/experiment/). docs/analytics.md "Measuring uplift".
 */
import { InputError } from '../data/lines';
import { inputName } from '../data/sources';
import { ReadReport } from '../data/types';
import { type ExperimentFormat, readExperiment } from '../experiment/read-events';
import { experimentReport } from '../experiment/report';
import { formatReport } from '../experiment/table';
import { ExperimentTally } from '../experiment/tally';
import { dayOption, parseArgs, positiveNumber, required, runCommand, UsageError } from './args';
import { checkOutputFile } from './output-file';
import { writeResultRecord } from './result-record';

const DAY_MS = 86_400_000;

const USAGE = `usage: npm run report -- --format events|mongodb --input PATH
  --input                a JSONL export of the events collection (events), or its connection string (mongodb)
  [--site SITE]          the shop (SITE_ID); required when the events are of several
  [--from YYYY-MM-DD]    first day (UTC) of the window; default: the first event
  [--to YYYY-MM-DD]      last day (UTC) of the window, included; default: the last event
  [--holdout-percent P]  HOLDOUT_PERCENT as it was configured: checks the split of shoppers against it
  [--attribution-days D] an order's product counts as the recommendations' when the shopper clicked it
                         in a recommendation at most D days before (default 7)
  [--json FILE]          also write the report as JSON (nothing is written by default)`;

runCommand(USAGE, async () => {
  const args = parseArgs(process.argv.slice(2), [
    'format',
    'input',
    'site',
    'from',
    'to',
    'holdout-percent',
    'attribution-days',
    'json',
  ]);
  const format = required(args, 'format') as ExperimentFormat;
  // The other formats (online-retail, movielens) have no experiment arms.
  if (format !== 'events' && format !== 'mongodb')
    throw new UsageError(
      `--format must be events or mongodb (stored events carry the arms), got "${format}"`,
    );
  const input = required(args, 'input');
  const from = dayOption(args, 'from');
  const lastDay = dayOption(args, 'to');
  const to = lastDay === undefined ? undefined : lastDay + DAY_MS;
  if (from !== undefined && to !== undefined && to <= from)
    throw new UsageError('--to is before --from: give the first day, then the last');
  const holdoutPercent = args.has('holdout-percent') ? positiveNumber(args, 'holdout-percent') : undefined;
  if (holdoutPercent !== undefined && holdoutPercent >= 100)
    throw new UsageError(`--holdout-percent must be below 100, got "${args.get('holdout-percent')}"`);
  const attributionDays = args.has('attribution-days') ? positiveNumber(args, 'attribution-days') : 7;
  const json = args.get('json');
  if (json !== undefined) await checkOutputFile('json', json);

  const site = args.get('site');
  const options = {
    ...(site !== undefined ? { site } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    attributionMs: attributionDays * DAY_MS,
  };
  const read = new ReadReport();
  const tally = new ExperimentTally(options, read);
  await readExperiment(format, input, options, tally, read);
  console.log(read.summary());
  if (read.rows.kept === 0)
    throw new InputError('no stored event in the input matches the site and window: nothing to report');
  const report = experimentReport(tally.finish(), holdoutPercent);
  console.log(`\n${formatReport(report, holdoutPercent)}`);
  if (json !== undefined) {
    await writeResultRecord(json, report, {
      format,
      input: inputName(format, input),
      ...(site !== undefined ? { site } : {}),
      ...(from !== undefined ? { from: new Date(from).toISOString() } : {}),
      ...(to !== undefined ? { to: new Date(to).toISOString() } : {}),
      ...(holdoutPercent !== undefined ? { holdoutPercent } : {}),
      attributionDays,
    });
    console.log(`\nwrote ${json}`);
  }
});
