/**
 * Reader of MovieLens ratings (`u.data`: tab-separated `user item rating timestamp`; `::`-separated
 * `ratings.dat` works too). Every rating is an interaction of weight 1: the Microsoft Recommenders
 * protocol treats all rated items as relevant, whatever the rating.
 */
import { InputError, readLines } from './lines';
import { type DataSource, type Interaction, type ItemStats, ReadReport } from './types';

/** A data source over a MovieLens ratings file. */
/** 2100-01-01T00:00:00Z in seconds: no rating is from after it. */
const LAST_SECOND = Date.UTC(2100, 0, 1) / 1000;

export function movielensSource(path: string): DataSource {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  async function* interactions(): AsyncGenerator<Interaction> {
    for await (const [line, text] of readLines(path, (note) => report.notes.push(note))) {
      if (text.trim() === '') continue;
      report.rows.read += 1;
      const fields = text.includes('::') ? text.split('::') : text.trim().split(/\t|\s+/);
      if (fields.length < 4) {
        report.skip('expected 4 fields: user item rating timestamp', line);
        continue;
      }
      const [user = '', item = '', rawRating = '', rawTime = ''] = fields;
      const rating = Number(rawRating);
      const seconds = Number(rawTime);
      if (!user || !item) {
        report.skip('missing user or item id', line);
        continue;
      }
      if (!Number.isFinite(rating)) {
        report.skip('rating is not a number', line);
        continue;
      }
      if (!Number.isFinite(seconds)) {
        report.skip('timestamp is not a number', line);
        continue;
      }
      // MovieLens counts seconds since 1970. A value past 2100 is milliseconds or garbage, and one past
      // what a Date holds (1e20) used to end training at its very last step ("Invalid time value").
      if (seconds < 0 || seconds >= LAST_SECOND) {
        report.skip('timestamp is not seconds between 1970 and 2100 (milliseconds?)', line);
        continue;
      }
      report.rows.kept += 1;
      yield { user, item, time: seconds * 1000, weight: 1, purchase: true, quantity: 0 };
    }
    if (report.rows.read === 0) throw new InputError(`input ${path} has no ratings`);
  }
  return { interactions, report, items };
}
