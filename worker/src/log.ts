/**
 * Structured logs (one JSON line each, read by `wrangler tail` and Workers Logs).
 * Never pass secrets, tokens, raw user ids or IPs here: callers log hashed ids only.
 *
 * The threshold comes from `LOG_LEVEL` (debug | info | warn | error, default info). It is a
 * module-level setting because log lines are written from code that has no `env` at hand
 * (health probes, model loading); `applyLogLevel(env)` sets it at the start of each invocation.
 */
import { redactSecrets } from './redact';
import { parseSetting } from './settings';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: number = RANK.info;

/** Sets the threshold from `env.LOG_LEVEL`; an unknown value keeps `info` and is a config problem. */
export function applyLogLevel(env: { LOG_LEVEL?: string }): void {
  const { value, problem } = parseSetting('LOG_LEVEL', env.LOG_LEVEL);
  threshold = RANK[value];
  if (problem !== undefined) logConfigProblem(problem);
}

/** Problems already logged by this isolate (bounded: settings change only with a deploy). */
const loggedProblems = new Set<string>();
const MAX_LOGGED_PROBLEMS = 100;

/**
 * A problem of the settings (a `[vars]` entry that is not acceptable, settings.ts), logged once per
 * isolate as `config_problem`; `/healthz` lists the current ones under `config`.
 */
export function logConfigProblem(problem: string): void {
  if (loggedProblems.has(problem)) return;
  if (loggedProblems.size >= MAX_LOGGED_PROBLEMS) loggedProblems.clear();
  loggedProblems.add(problem);
  log('warn', 'config_problem', { problem: redactSecrets(problem) });
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
