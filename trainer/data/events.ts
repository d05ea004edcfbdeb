/**
 * Reader of behaviour events as JSONL (one event of contracts/events.ts per line, as posted or as
 * stored). Each product an event names becomes an interaction weighted by `EVENT_WEIGHTS`.
 * `mongoexport` output of the events collection reads too: its Extended JSON dates
 * (`{"$date": …}`) and `_id` are turned back into the stored form, as the mongodb reader does.
 */

import { BSON } from 'mongodb';
import { fromEventDocument } from '../../contracts/event-document';
import { type EventRecord, eventInteractions } from './event-interactions';
import { FingerprintSet } from './fingerprint-set';
import { IdentityLinks } from './identities';
import { InputError, readLines } from './lines';
import { type DataSource, type Interaction, type ItemStats, ReadReport } from './types';

/** A data source over a JSONL file of events. */
export function eventsSource(path: string): DataSource {
  const report = new ReadReport();
  const items = new Map<string, ItemStats>();
  const identities = new IdentityLinks();
  async function* interactions(): AsyncGenerator<Interaction> {
    // A file of exports appended together can hold an event twice; the collection holds it once, and
    // so does what the models learn from.
    for await (const [line, raw] of readEventRecords(path, report, { uniqueMessageIds: true }))
      yield* eventInteractions(raw, line, report, items, identities);
    if (report.rows.read === 0) throw new InputError(`input ${path} has no events`);
  }
  return { interactions, report, items, identities };
}

/** What a repeated messageId is skipped as (`uniqueMessageIds`). */
export const REPEATED_MESSAGE_ID = 'the same messageId again (a repeated event): counted once';

/**
 * The events of a JSONL file with their line numbers, as read: Extended JSON turned back into the
 * stored form, not validated. A line that is no JSON is counted as read and skipped in `report`.
 * With `uniqueMessageIds` (the events source of training and evaluation, and `npm run report`), an event whose
 * messageId came before is counted as read and skipped too (the first one is yielded): the collection
 * holds each messageId once, a file of exports appended together or a sender's retries can hold it
 * twice. Each messageId is kept as a 64-bit fingerprint (FingerprintSet), off the heap.
 */
export async function* readEventRecords(
  path: string,
  report: ReadReport,
  options: { uniqueMessageIds?: boolean } = {},
): AsyncGenerator<[number, EventRecord]> {
  const seen = options.uniqueMessageIds ? new FingerprintSet() : undefined;
  let first = true;
  for await (const [line, text] of readLines(path, (note) => report.notes.push(note))) {
    if (text.trim() === '') continue;
    // A JSON array (mongoexport --jsonArray, a pretty-printed dump) would be one invalid event
    // or a "not valid JSON" per line, with no word of why.
    if (first && text.trimStart().startsWith('['))
      throw new InputError(
        `${path} is a JSON array; the events format is JSON Lines, one event per line (mongoexport without --jsonArray)`,
      );
    first = false;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      report.rows.read += 1;
      report.skip('not valid JSON', line);
      continue;
    }
    if (text.includes('"$') && raw !== null && typeof raw === 'object') {
      try {
        raw = fromEventDocument(BSON.EJSON.deserialize(raw as BSON.Document, { relaxed: true }));
      } catch {
        report.rows.read += 1;
        report.skip('not valid Extended JSON', line);
        continue;
      }
    }
    const messageId = (raw as { messageId?: unknown } | null)?.messageId;
    if (seen !== undefined && typeof messageId === 'string') {
      if (!seen.add(messageId)) {
        report.rows.read += 1;
        report.skip(REPEATED_MESSAGE_ID, line);
        continue;
      }
    }
    yield [line, raw as EventRecord];
  }
}
