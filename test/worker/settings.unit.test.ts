/**
 * The worker's numeric and enum settings, each defined once (worker/src/settings.ts): for every one,
 * a valid entry, a blank one (the default) and a bad one (the default, or the bound it is past, plus a
 * problem naming the setting and what it accepts), read through the functions the worker uses.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheBudgetMs } from '../../worker/src/cache/redis-client';
import { setting } from '../../worker/src/config';
import { databaseName } from '../../worker/src/consumer/collections';
import { writeDeadlineMs } from '../../worker/src/consumer/mongo-client';
import { outboxShards } from '../../worker/src/events/outbox';
import { applyLogLevel, log } from '../../worker/src/log';
import { demoBundleSetting } from '../../worker/src/models/default-bundle';
import { pollIntervalMs } from '../../worker/src/models/registry';
import { parseProxyConfig } from '../../worker/src/proxy/config';
import { parseSetting, parseShopOrigins, SETTINGS, type SettingName } from '../../worker/src/settings';
import { holdoutPercent } from '../../worker/src/shopper';

afterEach(() => {
  vi.restoreAllMocks();
  applyLogLevel({});
});

/** `config_problem` lines written to the console during `work`. */
function problemsLogged(work: () => void): string[] {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    work();
    return warn.mock.calls
      .map((call) => JSON.parse(String(call[0])) as { event: string; problem?: string })
      .filter((line) => line.event === 'config_problem')
      .map((line) => String(line.problem));
  } finally {
    warn.mockRestore();
  }
}

interface Case {
  name: SettingName;
  /** The value as the worker's caller returns it. */
  read: (raw: string | undefined) => unknown;
  valid: [string, unknown][];
  fallback: unknown;
  bad: [string, unknown, string][];
}

const cases: Case[] = [
  {
    name: 'CACHE_BUDGET_MS',
    read: (raw) => cacheBudgetMs({ CACHE_BUDGET_MS: raw }),
    valid: [
      ['120', 120],
      ['2.5', 2.5],
      [' 80 ', 80],
    ],
    fallback: 50,
    bad: [
      ['fast', 50, 'CACHE_BUDGET_MS must be a number of milliseconds > 0, got "fast"'],
      ['0', 50, 'CACHE_BUDGET_MS must be a number of milliseconds > 0, got "0"'],
      ['-5', 50, 'CACHE_BUDGET_MS must be a number of milliseconds > 0, got "-5"'],
    ],
  },
  {
    name: 'CACHE_TTL_SECONDS',
    read: (raw) => setting({ CACHE_TTL_SECONDS: raw }, 'CACHE_TTL_SECONDS'),
    valid: [
      ['600', 600],
      ['3153600000', 3_153_600_000],
    ],
    fallback: 300,
    bad: [
      ['1.5', 300, 'CACHE_TTL_SECONDS must be a whole number of seconds from 1 to 3153600000, got "1.5"'],
      ['0', 300, 'CACHE_TTL_SECONDS must be a whole number of seconds from 1 to 3153600000, got "0"'],
      ['5m', 300, 'CACHE_TTL_SECONDS must be a whole number of seconds from 1 to 3153600000, got "5m"'],
      // The entry's TTL is twice this, in ms: 2e19 is past what Redis takes, so every cache write failed.
      [
        '1e16',
        3_153_600_000,
        'CACHE_TTL_SECONDS must be a whole number of seconds from 1 to 3153600000, got "1e16"; using 3153600000',
      ],
    ],
  },
  {
    name: 'ACTIVITY_DAYS',
    read: (raw) => setting({ ACTIVITY_DAYS: raw }, 'ACTIVITY_DAYS'),
    valid: [
      ['7', 7],
      ['0.5', 0.5],
    ],
    fallback: 30,
    bad: [
      ['0', 30, 'ACTIVITY_DAYS must be a number of days from 0.00001 to 36500, got "0"'],
      ['a month', 30, 'ACTIVITY_DAYS must be a number of days from 0.00001 to 36500, got "a month"'],
      // 0.0864 s: the consumer's EXPIRE would be 0, deleting each write at once. One second instead.
      [
        '0.000001',
        0.00001,
        'ACTIVITY_DAYS must be a number of days from 0.00001 to 36500, got "0.000001"; using 0.00001',
      ],
    ],
  },
  {
    name: 'ACTIVITY_DAYS_SIGNED_IN',
    read: (raw) => setting({ ACTIVITY_DAYS_SIGNED_IN: raw }, 'ACTIVITY_DAYS_SIGNED_IN'),
    valid: [
      ['90', 90],
      ['36500', 36_500],
    ],
    fallback: 365,
    bad: [
      ['-1', 365, 'ACTIVITY_DAYS_SIGNED_IN must be a number of days from 0.00001 to 36500, got "-1"'],
      // Redis refuses an EXPIRE this far ahead: the keys would never expire. The bound instead.
      [
        '1e12',
        36_500,
        'ACTIVITY_DAYS_SIGNED_IN must be a number of days from 0.00001 to 36500, got "1e12"; using 36500',
      ],
    ],
  },
  {
    name: 'MONGODB_WRITE_DEADLINE_MS',
    read: (raw) => writeDeadlineMs({ MONGODB_WRITE_DEADLINE_MS: raw }),
    valid: [['5000', 5000]],
    fallback: 30_000,
    bad: [
      ['0', 30_000, 'MONGODB_WRITE_DEADLINE_MS must be a number of milliseconds > 0, got "0"'],
      ['30s', 30_000, 'MONGODB_WRITE_DEADLINE_MS must be a number of milliseconds > 0, got "30s"'],
    ],
  },
  {
    // The database the consumer writes to (MONGODB_URI naming none in its path, as Atlas strings do).
    name: 'MONGODB_DB',
    read: (raw) =>
      databaseName({ MONGODB_URI: 'mongodb+srv://cluster0.example.net/?w=majority', MONGODB_DB: raw }),
    valid: [
      ['shop', 'shop'],
      [' shop_events-2 ', 'shop_events-2'],
      // Refused only by a MongoDB on Windows: accepted (a deployment on Atlas may already write there).
      ['shop:events', 'shop:events'],
      ['admin', 'admin'],
      ['d'.repeat(63), 'd'.repeat(63)],
      ['é'.repeat(31), 'é'.repeat(31)],
    ],
    fallback: 'rx',
    bad: [
      // Before: passed to the driver, which threw this on every batch ("… cannot contain the character '.'").
      [
        'shop.events',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "shop.events" (MongoDB refuses "." in a database name)',
      ],
      [
        'shop events',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "shop events" (MongoDB refuses a space in a database name)',
      ],
      [
        'a/b',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "a/b" (MongoDB refuses "/" in a database name)',
      ],
      [
        'a\\b',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "a\\b" (MongoDB refuses "\\" in a database name)',
      ],
      [
        'a"b',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "a"b" (MongoDB refuses \'"\' in a database name)',
      ],
      [
        '$shop',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "$shop" (MongoDB refuses "$" in a database name)',
      ],
      [
        'a\0b',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "a\0b" (MongoDB refuses a NUL character in a database name)',
      ],
      [
        'd'.repeat(64),
        'rx',
        `MONGODB_DB must be a MongoDB database name, got "${'d'.repeat(64)}" (64 bytes long; MongoDB takes fewer than 64 bytes)`,
      ],
      // 32 characters, 64 bytes: the limit is the server's, in bytes.
      [
        'é'.repeat(32),
        'rx',
        `MONGODB_DB must be a MongoDB database name, got "${'é'.repeat(32)}" (64 bytes long; MongoDB takes fewer than 64 bytes)`,
      ],
      [
        'local',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "local" (local is MongoDB\'s own database, read-only on Atlas)',
      ],
      [
        'config',
        'rx',
        'MONGODB_DB must be a MongoDB database name, got "config" (config is MongoDB\'s own database, read-only on Atlas)',
      ],
    ],
  },
  {
    name: 'OUTBOX_SHARDS',
    read: (raw) => outboxShards({ OUTBOX_SHARDS: raw }),
    valid: [
      ['1', 1],
      ['32', 32],
    ],
    fallback: 1,
    bad: [
      ['33', 1, 'OUTBOX_SHARDS must be a whole number from 1 to 32, got "33"'],
      ['0', 1, 'OUTBOX_SHARDS must be a whole number from 1 to 32, got "0"'],
      ['2.5', 1, 'OUTBOX_SHARDS must be a whole number from 1 to 32, got "2.5"'],
      ['four', 1, 'OUTBOX_SHARDS must be a whole number from 1 to 32, got "four"'],
    ],
  },
  {
    name: 'HOLDOUT_PERCENT',
    read: holdoutPercent,
    valid: [
      ['0', 0],
      ['10', 10],
      ['2.5', 2.5],
      ['100', 100],
    ],
    fallback: 0,
    bad: [
      ['ten', 0, 'HOLDOUT_PERCENT must be a percentage from 0 to 100, got "ten"'],
      ['-5', 0, 'HOLDOUT_PERCENT must be a percentage from 0 to 100, got "-5"'],
      // Past the bound: the bound, as before, and now said.
      ['150', 100, 'HOLDOUT_PERCENT must be a percentage from 0 to 100, got "150"; using 100'],
    ],
  },
  {
    name: 'MODEL_POLL_SECONDS',
    read: (raw) => pollIntervalMs({ MODEL_POLL_SECONDS: raw }),
    valid: [
      ['120', 120_000],
      ['0', 0],
      ['0.5', 500],
    ],
    fallback: 30_000,
    bad: [
      ['soon', 30_000, 'MODEL_POLL_SECONDS must be a number of seconds >= 0, got "soon"'],
      ['-5', 30_000, 'MODEL_POLL_SECONDS must be a number of seconds >= 0, got "-5"'],
    ],
  },
  {
    name: 'HEALTH_PROBE_CACHE_SECONDS',
    read: (raw) => setting({ HEALTH_PROBE_CACHE_SECONDS: raw }, 'HEALTH_PROBE_CACHE_SECONDS'),
    valid: [
      ['0', 0],
      ['10', 10],
    ],
    fallback: 5,
    bad: [['5s', 5, 'HEALTH_PROBE_CACHE_SECONDS must be a number of seconds >= 0, got "5s"']],
  },
  {
    name: 'PERSONALIZATION_BUDGET_MS',
    read: (raw) =>
      parseProxyConfig({
        SITE_ID: 'test',
        ORIGIN_URL: 'https://origin.example',
        PERSONALIZATION_BUDGET_MS: raw,
      } as Parameters<typeof parseProxyConfig>[0])?.budgetMs,
    valid: [
      ['0', 0],
      ['80', 80],
    ],
    fallback: 50,
    bad: [['-1', 50, 'PERSONALIZATION_BUDGET_MS must be a number of milliseconds >= 0, got "-1"']],
  },
  {
    name: 'RX_CONSENT',
    read: (raw) => parseSetting('RX_CONSENT', raw).value,
    valid: [
      ['required', true],
      [' Required ', true],
      ['not-required', false],
    ],
    fallback: false,
    bad: [['yes', false, 'RX_CONSENT must be one of required, not-required, got "yes"']],
  },
  {
    name: 'RX_HONOUR_GPC',
    read: (raw) => parseSetting('RX_HONOUR_GPC', raw).value,
    valid: [
      ['true', true],
      ['FALSE', false],
    ],
    fallback: false,
    bad: [['1', false, 'RX_HONOUR_GPC must be one of true, false, got "1"']],
  },
  {
    name: 'DEMO_BUNDLE',
    read: (raw) => demoBundleSetting({ DEMO_BUNDLE: raw }).enabled,
    valid: [
      ['true', true],
      ['TRUE ', true],
      ['false', false],
    ],
    fallback: false,
    bad: [['yes', false, 'DEMO_BUNDLE must be true or false, got "yes"']],
  },
  {
    name: 'LOG_LEVEL',
    read: (raw) => parseSetting('LOG_LEVEL', raw).value,
    valid: [
      ['debug', 'debug'],
      ['WARN', 'warn'],
    ],
    fallback: 'info',
    bad: [
      ['verbose', 'info', 'LOG_LEVEL must be one of debug, info, warn, error, got "verbose"'],
      // Not a level, though `'constructor' in {}` is true.
      ['constructor', 'info', 'LOG_LEVEL must be one of debug, info, warn, error, got "constructor"'],
    ],
  },
];

describe('each setting: valid, blank and bad entries', () => {
  it('every setting with a rule has its cases here', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  for (const c of cases) {
    it(c.name, () => {
      for (const [raw, value] of c.valid) {
        expect(c.read(raw), `${c.name}=${raw}`).toEqual(value);
        expect(parseSetting(c.name, raw).problem, `${c.name}=${raw}`).toBeUndefined();
      }
      for (const raw of [undefined, '', '   ']) {
        expect(c.read(raw), `${c.name}=${String(raw)}`).toEqual(c.fallback);
        expect(parseSetting(c.name, raw).problem).toBeUndefined();
      }
      for (const [raw, value, problem] of c.bad) {
        expect(c.read(raw), `${c.name}=${raw}`).toEqual(value);
        expect(parseSetting(c.name, raw).problem).toBe(problem);
      }
    });
  }
});

describe('a bad entry is logged once per isolate, not per read', () => {
  it('CACHE_BUDGET_MS read on every request: one config_problem line', () => {
    const lines = problemsLogged(() => {
      for (let i = 0; i < 5; i++) cacheBudgetMs({ CACHE_BUDGET_MS: 'once-only' });
    });
    expect(lines).toEqual(['CACHE_BUDGET_MS must be a number of milliseconds > 0, got "once-only"']);
  });

  it('LOG_LEVEL: an unknown level keeps info, and says so', () => {
    const lines = problemsLogged(() => applyLogLevel({ LOG_LEVEL: 'loud' }));
    expect(lines).toEqual(['LOG_LEVEL must be one of debug, info, warn, error, got "loud"']);
    const info = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    log('debug', 'test_hidden');
    log('info', 'test_shown');
    expect(info.mock.calls.map((call) => JSON.parse(String(call[0])).event)).toEqual(['test_shown']);
  });
});

describe('SHOP_ORIGINS', () => {
  it('takes origins, comma- or space-separated; blank is none', () => {
    const problems: string[] = [];
    expect([...parseShopOrigins('https://shop.example, https://www.shop.example/path', problems)]).toEqual([
      'https://shop.example',
      'https://www.shop.example',
    ]);
    expect(parseShopOrigins('', problems).size).toBe(0);
    expect(parseShopOrigins(undefined, problems).size).toBe(0);
    expect(problems).toEqual([]);
  });

  it('names each entry that is not an origin and never allows it, nor the null origin it would make', () => {
    const problems: string[] = [];
    const origins = parseShopOrigins('https://shop.example shop.example,localhost:8787', problems);
    expect([...origins]).toEqual(['https://shop.example']);
    expect(problems).toEqual([
      'SHOP_ORIGINS: "shop.example" is not an origin (like https://shop.example)',
      'SHOP_ORIGINS: "localhost:8787" is not an origin (like https://shop.example)',
    ]);
  });
});
