/**
 * `npm run forecast -- --format F --input PATH --horizon H --out FILE.csv`
 * Weekly demand forecast per item and store (store = country for Online Retail, site for events)
 * for the H weeks after the data ends. CSV header: item_id,store_id,date,forecast (date = the
 * Monday starting the forecast week; forecast = units in that week).
 *
 * `--backtest [--json FILE]` instead measures the forecast on the data's last H complete weeks
 * (trainer/forecast/backtest.ts) and prints one table beside baselines.
 */

import path from 'node:path';
import { InputError } from '../data/lines';
import { inputName, isFormat, openSource } from '../data/sources';
import { type BacktestResult, backtest } from '../forecast/backtest';
import { forecastLevel } from '../forecast/smoothing';
import { type ForecastLevel, type WeeklySeries, weeklySeries, weekStart } from '../forecast/weekly';
import { csvField } from '../pipeline/recommend';
import { writeTextAtomically } from '../pipeline/write-text-atomically';
import { choice, parseArgs, positiveInt, required, runCommand, UsageError } from './args';
import { checkOutputFile } from './output-file';
import { writeResultRecord } from './result-record';

const USAGE = `usage: npm run forecast -- --format online-retail|events|mongodb|movielens --input PATH --horizon WEEKS --out FILE.csv [--per store|item]
       npm run forecast -- --format … --input PATH --horizon WEEKS --backtest [--json FILE] [--per store|item]
  --per        store (default): one series per item and store (country, site); item: per item over
               every store, written with store_id "all"
  --backtest   forecast the data's last WEEKS complete weeks from the weeks before them and print the
               errors beside baselines; --json default trainer/results/forecast-backtest-FORMAT[-per-item].json`;

runCommand(USAGE, async () => {
  const args = parseArgs(
    process.argv.slice(2),
    ['format', 'input', 'horizon', 'out', 'json', 'per'],
    ['backtest'],
  );
  const format = required(args, 'format');
  if (!isFormat(format)) throw new UsageError(`unknown --format "${format}"`);
  const horizon = positiveInt(args, 'horizon', 4);
  const per = choice<ForecastLevel>(args, 'per', ['store', 'item'], 'store');
  const testing = args.has('backtest');
  if (testing && args.has('out'))
    throw new UsageError('--backtest writes no forecast: give --json, not --out');
  if (!testing && args.has('json')) throw new UsageError('--json goes with --backtest');
  const file = testing
    ? (args.get('json') ??
      path.join('trainer', 'results', `forecast-backtest-${format}${per === 'item' ? '-per-item' : ''}.json`))
    : required(args, 'out');
  const input = required(args, 'input');
  // After every option is read: the check creates the output's folders, which a refused run must not leave.
  await checkOutputFile(testing ? 'json' : 'out', file);
  // Guest sales are demand too: without them item × store levels (and the backtest's actuals) come out low.
  const source = await openSource(format, input, { guestSales: true });
  const { series, lastWeek, lastWeekPartial } = await weeklySeries(source.interactions(), per);
  console.log(source.report.summary());
  if (series.size === 0)
    throw new InputError('no purchases with quantities in the input: nothing to forecast');
  if (testing) {
    if (lastWeekPartial)
      console.log(
        `the data's last week (from ${weekStart(lastWeek)}) ends before its trading days do: not held out`,
      );
    const result = backtest(series.values(), lastWeek, lastWeekPartial, horizon);
    if (result.series === 0)
      throw new InputError(
        `no series has a week of sales before the last ${horizon} complete weeks: try a smaller --horizon`,
      );
    console.log(`\n${backtestTable(result, per)}`);
    await writeResultRecord(file, result, { format, input: inputName(format, input), horizon, per });
    console.log(`\nwrote ${file}`);
    return;
  }
  await writeForecasts(series, lastWeek, horizon, file);
  console.log(
    `wrote ${series.size * horizon} forecasts (${series.size} ${seriesNoun(per)} series × ${horizon} weeks) to ${file}`,
  );
});

/** The CSV, atomically (temp file + rename): one flat level per series for each forecast week. */
async function writeForecasts(
  series: Map<string, WeeklySeries>,
  lastWeek: number,
  horizon: number,
  out: string,
): Promise<void> {
  const sorted = [...series.values()].sort(
    (a, b) => a.item.localeCompare(b.item) || a.store.localeCompare(b.store),
  );
  function* csv(): Generator<string> {
    yield 'item_id,store_id,date,forecast\n';
    for (const s of sorted) {
      const { level } = forecastLevel(s.values);
      const lines = Array.from(
        { length: horizon },
        (_, h) =>
          `${csvField(s.item)},${csvField(s.store)},${weekStart(lastWeek + 1 + h)},${level.toFixed(2)}`,
      );
      yield `${lines.join('\n')}\n`;
    }
  }
  await writeTextAtomically(out, csv());
}

/** The backtest as a Markdown table. */
function backtestTable(result: BacktestResult, per: ForecastLevel): string {
  const lines = [
    `backtest: weeks ${weekStart(result.weeks.first)} to ${weekStart(result.weeks.last)} held out; ${result.series} ${seriesNoun(per)} series forecast from the weeks before (${result.newSeries} first sold in those weeks${result.partialWeekSeries > 0 ? `, ${result.partialWeekSeries} in the partial week after them,` : ''} left out); ${Math.round(result.actualUnits)} units sold in them`,
    '',
    '| method | WAPE | MAE (units per series-week) | bias |',
    '| --- | --- | --- | --- |',
  ];
  // Nothing sold in the held-out weeks: WAPE and bias are ratios to zero, shown as n/a (not 0, perfect).
  const signed = (bias: number | null) =>
    bias === null ? 'n/a' : `${bias >= 0 ? '+' : ''}${(bias * 100).toFixed(1)} %`;
  for (const row of result.rows)
    lines.push(
      `| ${row.method} | ${row.wape === null ? 'n/a' : row.wape.toFixed(3)} | ${row.mae.toFixed(3)} | ${signed(row.bias)} |`,
    );
  if (result.actualUnits === 0)
    lines.push('', 'No units sold in the held-out weeks: WAPE and bias are undefined; compare MAE.');
  return lines.join('\n');
}

/** What one series is, in the summary lines. */
function seriesNoun(per: ForecastLevel): string {
  return per === 'store' ? 'item-store' : 'item';
}
