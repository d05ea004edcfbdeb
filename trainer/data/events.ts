/**
 * Reader of behaviour events as JSONL (one event of contracts/events.ts per line, as posted or as
 * stored). Each product an event names becomes an interaction weighted by `EVENT_WEIGHTS`.
 */

import { type EventRecord, eventInteractions } from './event-interactions';
import { InputError, readLines } from './lines';
import { type DataSource, type Interaction, type ItemStats, ReadReport } from './types';

/** A data source over a JSONL file of events. */
export function eventsSource(path: string): DataSource {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  async function* interactions(): AsyncGenerator<Interaction> {
    for await (const [line, text] of readLines(path)) {
      if (text.trim() === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        report.rows.read += 1;
        report.skip('not valid JSON', line);
        continue;
      }
      yield* eventInteractions(raw as EventRecord, line, report, items);
    }
    if (report.rows.read === 0) throw new InputError(`input ${path} has no events`);
  }
  return { interactions, report, items };
}
