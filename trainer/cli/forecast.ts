/**
 * `npm run forecast -- --format F --input PATH --horizon H --out FILE.csv`
 * Weekly demand forecast per item and store (store = country for Online Retail, site for events)
 * for the H weeks after the data ends. CSV header: item_id,store_id,date,forecast (date = the
 * Monday starting the forecast week; forecast = units in that week).
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { InputError } from '../data/lines';
import { isFormat, openSource } from '../data/sources';
import { forecastLevel } from '../forecast/smoothing';
import { weeklySeries, weekStart } from '../forecast/weekly';
import { csvField } from '../pipeline/recommend';
import { parseArgs, positiveInt, required, runCommand, UsageError } from './args';
import { checkOutputFile } from './output-file';

const USAGE = `usage: npm run forecast -- --format online-retail|events|mongodb|movielens --input PATH --horizon WEEKS --out FILE.csv`;

runCommand(USAGE, async () => {
  const args = parseArgs(process.argv.slice(2), ['format', 'input', 'horizon', 'out']);
  const format = required(args, 'format');
  if (!isFormat(format)) throw new UsageError(`unknown --format "${format}"`);
  const horizon = positiveInt(args, 'horizon', 4);
  const out = required(args, 'out');
  await checkOutputFile('out', out);
  const source = await openSource(format, required(args, 'input'));
  const { series, lastWeek } = await weeklySeries(source.interactions());
  console.log(source.report.summary());
  if (series.size === 0)
    throw new InputError('no purchases with quantities in the input: nothing to forecast');
  const temp = `${out}.tmp-${process.pid}`;
  const file = createWriteStream(temp);
  try {
    file.write('item_id,store_id,date,forecast\n');
    for (const s of [...series.values()].sort(
      (a, b) => a.item.localeCompare(b.item) || a.store.localeCompare(b.store),
    )) {
      const { level } = forecastLevel(s.values);
      const lines = Array.from(
        { length: horizon },
        (_, h) =>
          `${csvField(s.item)},${csvField(s.store)},${weekStart(lastWeek + 1 + h)},${level.toFixed(2)}`,
      );
      if (!file.write(`${lines.join('\n')}\n`)) await once(file, 'drain');
    }
    file.end();
    await once(file, 'finish');
    await rename(temp, out);
  } catch (error) {
    file.destroy();
    await rm(temp, { force: true });
    throw error;
  }
  console.log(
    `wrote ${series.size * horizon} forecasts (${series.size} item-store series × ${horizon} weeks) to ${out}`,
  );
});
