/**
 * `YYYY-MM-DD` as the epoch ms its UTC day starts; NaN for anything else, and for a day that does not
 * exist (2026-02-30 is not rolled over into March, as `Date.parse` would).
 */
export function utcDayStart(raw: string): number {
  const time = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : Number.NaN;
  return Number.isFinite(time) && new Date(time).toISOString().slice(0, 10) === raw ? time : Number.NaN;
}
