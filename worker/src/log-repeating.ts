import { type LogLevel, log } from './log';

/**
 * Logging for failures that repeat on every request while a dependency is down (the queue refusing
 * sends, Upstash unreachable, the origin down). Without a cap, an outage at a few hundred requests a
 * second writes the same line millions of times an hour: Workers Logs bills and samples per line, and
 * the one line that says what else went wrong drowns.
 *
 * Per isolate and per event name: the first REPEAT_LIMIT lines of a REPEAT_WINDOW_MS window are written
 * in full (the last of them says that the rest are counted); further ones are only counted. Once the
 * window is over, the next repeating line of any event first writes `log_lines_suppressed` with the
 * event, how many lines were left out and since when. `/healthz` shows the outage meanwhile, and lines
 * that mean an event was lost (`proxy_page_view_not_queued`, `events_not_held`) are never capped:
 * they use `log`.
 */
export const REPEAT_LIMIT = 10;
export const REPEAT_WINDOW_MS = 60_000;

interface Window {
  startedAt: number;
  level: LogLevel;
  written: number;
  suppressed: number;
}

const windows = new Map<string, Window>();

/** `log`, capped per event name as described above. `now` is for tests. */
export function logRepeating(
  level: LogLevel,
  event: string,
  fields: Record<string, unknown> = {},
  now: number = Date.now(),
): void {
  closeEndedWindows(now);
  let window = windows.get(event);
  if (!window) {
    window = { startedAt: now, level, written: 0, suppressed: 0 };
    windows.set(event, window);
  }
  if (window.written >= REPEAT_LIMIT) {
    window.suppressed++;
    return;
  }
  window.written++;
  log(
    level,
    event,
    window.written === REPEAT_LIMIT
      ? {
          ...fields,
          repeats: `further ${event} lines are counted until ${iso(window.startedAt + REPEAT_WINDOW_MS)}`,
        }
      : fields,
  );
}

function closeEndedWindows(now: number): void {
  for (const [event, window] of windows) {
    if (now - window.startedAt < REPEAT_WINDOW_MS) continue;
    windows.delete(event);
    if (window.suppressed > 0) {
      log(window.level, 'log_lines_suppressed', {
        of: event,
        suppressed: window.suppressed,
        since: iso(window.startedAt),
      });
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Keys each `firstInIsolate` event has seen; bounded so that keys built from page content stay few. */
const seenKeys = new Map<string, Set<string>>();
const MAX_SEEN_KEYS = 32;

/**
 * True the first time this isolate asks for `key` under `event`, false after: for warnings that say
 * something about a shop's pages (a refused tag, a price left as printed) once per kind, while
 * `/healthz` keeps the count. Past MAX_SEEN_KEYS keys of one event they are forgotten and said again.
 */
export function firstInIsolate(event: string, key: string): boolean {
  let seen = seenKeys.get(event);
  if (!seen) {
    seen = new Set();
    seenKeys.set(event, seen);
  }
  if (seen.has(key)) return false;
  if (seen.size >= MAX_SEEN_KEYS) seen.clear();
  seen.add(key);
  return true;
}
