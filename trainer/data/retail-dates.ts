/** Invoice dates of an Online Retail CSV, read as UTC epoch milliseconds. */

/** `YYYY-MM-DD`, optionally `[ T]HH:MM[:SS[.fff]]` and a zone (`Z`, `+01:00`, `+0100`, `+01`). */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
/** `M/D/YYYY H:MM[:SS]`, the original UCI spreadsheet's (month first). */
const SLASH = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;

/**
 * Parses ISO 8601 (`2010-12-01 08:26:00`, `2010-12-01T08:26:00Z`, `…+01:00`; no zone = UTC) or
 * `M/D/YYYY H:MM[:SS]`. Null for anything else and for dates that do not exist.
 */
export function parseRetailDate(text: string): number | null {
  const value = text.trim();
  let m = ISO.exec(value);
  if (m) {
    const time = utcIfReal(
      +(m[1] ?? 0),
      +(m[2] ?? 0),
      +(m[3] ?? 0),
      +(m[4] ?? 0),
      +(m[5] ?? 0),
      +(m[6] ?? 0),
    );
    return time === null ? null : time - zoneOffsetMinutes(m[7]) * 60_000;
  }
  m = SLASH.exec(value);
  if (m) return utcIfReal(+(m[3] ?? 0), +(m[1] ?? 0), +(m[2] ?? 0), +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  return null;
}

/**
 * True for a slash date that can only be day-first (`13/12/2010 08:34`). Such a file's dates up to
 * the 12th of each month would be read month-first without error, on the wrong day: the reader
 * stops at the first one instead of training on misdated rows.
 */
export function isDayFirstDate(text: string): boolean {
  const m = SLASH.exec(text.trim());
  return m !== null && +(m[1] ?? 0) > 12 && +(m[2] ?? 0) <= 12;
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = +digits.slice(0, 2) * 60 + +(digits.slice(2, 4) || 0);
  return zone[0] === '-' ? -minutes : minutes;
}

/**
 * The time, or null for a date that does not exist: Date.UTC rolls 2011-02-30 over to 2 March and
 * 25:00 to the next day, which would put a line on the wrong day instead of counting it unreadable.
 */
function utcIfReal(year: number, month: number, day: number, hour: number, minute: number, second: number) {
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(time);
  const same =
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second;
  return same ? time : null;
}
