import { ACTIVITY_DAYS_DEFAULT, ACTIVITY_DAYS_SIGNED_IN_DEFAULT } from '../../contracts/activity';
import {
  DATABASE_NAME_ACCEPTS,
  DEFAULT_EVENTS_DATABASE,
  databaseNameProblem,
} from '../../contracts/mongodb-uri';
import type { Env, SecretName } from './env';
import type { LogLevel } from './log';

/**
 * The worker's numeric, enum and name settings (`[vars]` in wrangler.toml), each defined once here:
 * what it accepts, its default, and how an entry is read. An unset or blank entry (a `[vars]` line left empty)
 * means the default; an entry the rule does not accept also means the default (or, for a number past a
 * bound, that bound: `nearest`), with a problem naming the setting, what it accepts and what it got.
 * Callers read a setting through `setting()` in config.ts, which logs each problem once per isolate;
 * `/healthz` lists them under `config`. Pure: no logging here (log.ts reads LOG_LEVEL through it).
 *
 * Only public settings have a rule (the `satisfies` below refuses a secret's name), so a problem never
 * quotes a secret's value.
 */
export interface SettingRule<T> {
  /** What the setting accepts, as the problem says it: `NAME must be <accepts>, got "…"`. */
  accepts: string;
  /** The value of an unset, blank or unacceptable entry. */
  fallback: T;
  /** The value of a non-blank (trimmed) entry, or undefined when the rule does not accept it. */
  parse(text: string): T | undefined;
  /** For an entry the rule does not accept: a value nearer to what was meant than the fallback, if any. */
  nearest?(text: string): T | undefined;
  /** For an entry the rule does not accept: why, when `accepts` alone does not say (after "got …"). */
  why?(text: string): string | undefined;
  /** Read only in proxy mode (ORIGIN_URL set), by proxy/config.ts, which collects its problems. */
  proxyMode?: true;
}

export interface SettingRead<T> {
  value: T;
  /** Set when the entry was not acceptable: what `/healthz` `config` and the log show. */
  problem?: string;
}

/** A number (`Number(text)`, finite) that `valid` accepts: `0x10` and `1e3` count, as they always did. */
function numberRule(
  accepts: string,
  fallback: number,
  valid: (value: number) => boolean,
): SettingRule<number> {
  return {
    accepts,
    fallback,
    parse(text) {
      const value = Number(text);
      return Number.isFinite(value) && valid(value) ? value : undefined;
    },
  };
}

/**
 * A duration in whole or fractional seconds, `0` and up (`0` meaning "every time"). `Number('')` is 0,
 * which is why a blank entry is the default here and not 0: it must not switch a cache or a poll off.
 */
function secondsRule(fallback: number): SettingRule<number> {
  return numberRule('a number of seconds >= 0', fallback, (value) => value >= 0);
}

/** A few accepted words (case-insensitive), each meaning a `T`. */
function choiceRule<T>(
  choices: Record<string, T>,
  fallback: T,
  accepts = `one of ${Object.keys(choices).join(', ')}`,
): SettingRule<T> {
  return {
    accepts,
    fallback,
    parse(text) {
      const word = text.toLowerCase();
      return Object.hasOwn(choices, word) ? choices[word] : undefined;
    },
  };
}

/**
 * Bounds of the activity lifetimes, in days. The consumer EXPIREs keys after that many whole seconds
 * (rounded): below half a second that is `EXPIRE 0`, which deletes what was just written (and every
 * bump of the cache generation with it, so cached lists would never go stale on an event); past about
 * 10^11 days Redis refuses the EXPIRE and the keys, just written, would never expire. 0.00001 days
 * rounds to 1 second; 36500 days is a hundred years.
 */
export const ACTIVITY_DAYS_MIN = 0.00001;
export const ACTIVITY_DAYS_MAX = 36_500;

/** Days from ACTIVITY_DAYS_MIN to ACTIVITY_DAYS_MAX; a positive number past a bound is that bound. */
function activityDaysRule(fallback: number): SettingRule<number> {
  const within = (value: number) => value >= ACTIVITY_DAYS_MIN && value <= ACTIVITY_DAYS_MAX;
  return {
    ...numberRule(`a number of days from ${ACTIVITY_DAYS_MIN} to ${ACTIVITY_DAYS_MAX}`, fallback, within),
    nearest(text) {
      const value = Number(text);
      if (!Number.isFinite(value) || value <= 0) return undefined;
      return Math.min(ACTIVITY_DAYS_MAX, Math.max(ACTIVITY_DAYS_MIN, value));
    },
  };
}

/**
 * Bounds of `CACHE_TTL_SECONDS`: a whole second, up to a hundred years (as ACTIVITY_DAYS_MAX). An
 * entry's Redis TTL is twice the setting, in milliseconds (recommendation-cache.ts): from about 5e15
 * seconds on, Redis refuses that PX and every cache write failed; past the bound the bound is used.
 */
export const CACHE_TTL_SECONDS_MAX = ACTIVITY_DAYS_MAX * 86_400;

function cacheTtlRule(fallback: number): SettingRule<number> {
  const whole = (value: number) => Number.isInteger(value) && value >= 1;
  return {
    ...numberRule(
      `a whole number of seconds from 1 to ${CACHE_TTL_SECONDS_MAX}`,
      fallback,
      (value) => whole(value) && value <= CACHE_TTL_SECONDS_MAX,
    ),
    nearest(text) {
      const value = Number(text);
      return whole(value) ? Math.min(CACHE_TTL_SECONDS_MAX, value) : undefined;
    },
  };
}

/** Most shards `OUTBOX_SHARDS` may ask for: `/healthz` asks each one for its status. */
export const MAX_OUTBOX_SHARDS = 32;

const BOOLEAN = { true: true, false: false };

export const SETTINGS = {
  /**
   * Share of shoppers held out (0..100, decimals allowed). Unset or invalid means no holdout, because
   * silently holding out shoppers nobody asked to hold out would cost the shop revenue; a number past
   * 0..100 is the bound it is past.
   */
  HOLDOUT_PERCENT: {
    ...numberRule('a percentage from 0 to 100', 0, (value) => value >= 0 && value <= 100),
    nearest(text: string) {
      const value = Number(text);
      return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : undefined;
    },
  },
  PERSONALIZATION_BUDGET_MS: {
    ...numberRule('a number of milliseconds >= 0', 50, (value) => value >= 0),
    proxyMode: true,
  },
  RX_CONSENT: { ...choiceRule({ required: true, 'not-required': false }, false), proxyMode: true },
  RX_HONOUR_GPC: { ...choiceRule(BOOLEAN, false), proxyMode: true },
  CACHE_BUDGET_MS: numberRule('a number of milliseconds > 0', 50, (value) => value > 0),
  CACHE_TTL_SECONDS: cacheTtlRule(300),
  /**
   * How long a shopper's recent activity, purchases and cache generation live in Redis after their
   * last event, in days. A signed-in shopper's live longer by default: most customers come back after
   * more than a month, and the worker ranks only from what it still holds (docs/api.md "The per-user
   * cache"); anonymous visitors, most of whom never return, are most of the keys.
   */
  ACTIVITY_DAYS: activityDaysRule(ACTIVITY_DAYS_DEFAULT),
  ACTIVITY_DAYS_SIGNED_IN: activityDaysRule(ACTIVITY_DAYS_SIGNED_IN_DEFAULT),
  MODEL_POLL_SECONDS: secondsRule(30),
  DEMO_BUNDLE: choiceRule(BOOLEAN, false, 'true or false'),
  MONGODB_WRITE_DEADLINE_MS: numberRule('a number of milliseconds > 0', 30_000, (value) => value > 0),
  /**
   * The database of the `events` and `rejected_events` collections when `MONGODB_URI` names none in
   * its path (contracts/mongodb-uri.ts, the rule the consumer, the trainer and `report` share). A name
   * MongoDB refuses (`shop.events`) is the default: passed on, it failed every batch (retried, then
   * dead-lettered) while `/healthz` said nothing of it.
   */
  MONGODB_DB: {
    accepts: DATABASE_NAME_ACCEPTS,
    fallback: DEFAULT_EVENTS_DATABASE,
    parse: (text: string) => (databaseNameProblem(text) === undefined ? text : undefined),
    why: databaseNameProblem,
  },
  LOG_LEVEL: choiceRule<LogLevel>({ debug: 'debug', info: 'info', warn: 'warn', error: 'error' }, 'info'),
  HEALTH_PROBE_CACHE_SECONDS: secondsRule(5),
  OUTBOX_SHARDS: numberRule(
    `a whole number from 1 to ${MAX_OUTBOX_SHARDS}`,
    1,
    (value) => Number.isInteger(value) && value >= 1 && value <= MAX_OUTBOX_SHARDS,
  ),
} satisfies { [Name in Exclude<keyof Env, SecretName>]?: SettingRule<unknown> };

export type SettingName = keyof typeof SETTINGS;
export type SettingValue<Name extends SettingName> =
  (typeof SETTINGS)[Name] extends SettingRule<infer T> ? T : never;

/** Reads one entry by `rule`; `name` is what the problem calls it. */
function readRule<T>(name: string, rule: SettingRule<T>, raw: string | undefined): SettingRead<T> {
  const text = raw?.trim();
  if (!text) return { value: rule.fallback };
  const value = rule.parse(text);
  if (value !== undefined) return { value };
  const why = rule.why?.(text);
  const problem = `${name} must be ${rule.accepts}, got "${raw}"${why === undefined ? '' : ` (${why})`}`;
  const nearest = rule.nearest?.(text);
  if (nearest === undefined || nearest === rule.fallback) return { value: rule.fallback, problem };
  return { value: nearest, problem: `${problem}; using ${String(nearest)}` };
}

/** A setting's value from its `[vars]` entry, and the problem when the entry is not acceptable. No logging. */
export function parseSetting<Name extends SettingName>(
  name: Name,
  raw: string | undefined,
): SettingRead<SettingValue<Name>> {
  return readRule(name, SETTINGS[name] as SettingRule<SettingValue<Name>>, raw);
}

/**
 * `SHOP_ORIGINS`: comma- or space-separated origins (`https://shop.example,https://www.shop.example`).
 * An entry that is not an origin is never allowed, and named in `problems`: a host without its scheme
 * (`shop.example`, `localhost:8787`) included, whose origin would be `null`, the origin of sandboxed
 * frames and local files, which must not get CORS with credentials.
 */
export function parseShopOrigins(raw: string | undefined, problems: string[] = []): Set<string> {
  const origins = new Set<string>();
  for (const part of (raw ?? '').split(/[\s,]+/)) {
    if (!part) continue;
    let origin: string | undefined;
    try {
      origin = new URL(part).origin;
    } catch {
      // Not a URL: reported below.
    }
    if (origin === undefined || origin === 'null') {
      problems.push(`SHOP_ORIGINS: "${part}" is not an origin (like https://shop.example)`);
      continue;
    }
    origins.add(origin);
  }
  return origins;
}
