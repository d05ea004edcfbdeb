/**
 * Structured logs (one JSON line each, read by `wrangler tail` and Workers Logs).
 * Never pass secrets, tokens, raw user ids or IPs here: callers log hashed ids only.
 *
 * The threshold comes from `LOG_LEVEL` (debug | info | warn | error, default info). It is a
 * module-level setting because log lines are written from code that has no `env` at hand
 * (health probes, model loading); `applyLogLevel(env)` sets it at the start of each invocation.
 */
import { redactSecrets } from './redact';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: number = RANK.info;

function isLogLevel(value: string): value is LogLevel {
  return value in RANK;
}

/** Sets the threshold from `env.LOG_LEVEL`; an unknown or missing value keeps `info`. */
export function applyLogLevel(env: { LOG_LEVEL?: string }): void {
  const level = env.LOG_LEVEL?.trim().toLowerCase() ?? '';
  threshold = isLogLevel(level) ? RANK[level] : RANK.info;
}

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < threshold) return;
  const line: Record<string, unknown> = { level, event };
  for (const [key, value] of Object.entries(fields)) {
    // An error's message may quote the failed command (Upstash: keys and values) or a URL with
    // credentials: the kind of failure is logged, not those (redactSecrets).
    line[key] = value instanceof Error ? { name: value.name, message: redactSecrets(value.message) } : value;
  }
  const text = JSON.stringify(line);
  if (level === 'error') console.error(text);
  else if (level === 'warn') console.warn(text);
  else console.log(text);
}
