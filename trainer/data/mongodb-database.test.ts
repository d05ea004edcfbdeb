/**
 * The database `--format mongodb` reads (train, eval, forecast, `npm run report`): a MONGODB_DB or a
 * database in the connection string's path that MongoDB refuses is refused before any connection,
 * naming what to change. Before, `MONGODB_DB=shop.events` printed only the driver's "Database names
 * cannot contain the character '.'", and a name the server refuses read as an empty collection.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runScript } from '../../test/support/trainer-cli';
import { InputError } from './lines';
import { mongodbSource } from './mongodb';
import { eventsDatabase } from './mongodb-database';
import { readAll } from './sources';

afterEach(() => {
  vi.unstubAllEnvs();
});

/** A string naming no database (as Atlas's do), to a port nothing listens on. */
const NOWHERE = 'mongodb://rx:pw-s3cret@127.0.0.1:1/?serverSelectionTimeoutMS=30000';

describe('the database --format mongodb reads', () => {
  it('is the path’s, else MONGODB_DB, else rx, as the worker writes', () => {
    vi.stubEnv('MONGODB_DB', '');
    expect(eventsDatabase(NOWHERE)).toBe('rx');
    vi.stubEnv('MONGODB_DB', ' shop ');
    expect(eventsDatabase(NOWHERE)).toBe('shop');
    expect(eventsDatabase('mongodb://127.0.0.1:1/events_2024?w=majority')).toBe('events_2024');
    // A MONGODB_DB the path makes unused is not read, so not refused.
    vi.stubEnv('MONGODB_DB', 'shop.events');
    expect(eventsDatabase('mongodb://127.0.0.1:1/shop')).toBe('shop');
  });

  it('refuses a MONGODB_DB MongoDB refuses, naming it, why, and where the worker writes instead', () => {
    for (const [value, why] of [
      ['shop.events', 'MongoDB refuses "." in a database name'],
      ['shop events', 'MongoDB refuses a space in a database name'],
      ['d'.repeat(64), '64 bytes long; MongoDB takes fewer than 64 bytes'],
      ['local', "local is MongoDB's own database, read-only on Atlas"],
    ] as const) {
      vi.stubEnv('MONGODB_DB', value);
      expect(() => eventsDatabase(NOWHERE)).toThrow(InputError);
      expect(() => eventsDatabase(NOWHERE)).toThrow(
        `MONGODB_DB must be a MongoDB database name, got "${value}" (${why}); ` +
          'the worker takes the default, rx, for it: unset MONGODB_DB to read there',
      );
    }
  });

  it('refuses a database in the path MongoDB refuses, naming it but not the rest of the string', () => {
    vi.stubEnv('MONGODB_DB', '');
    const error = (() => {
      try {
        eventsDatabase('mongodb://rx:pw-s3cret@127.0.0.1:1/shop%2Eevents?authSource=admin');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InputError);
    expect(error?.message).toBe(
      '--input names the database "shop.events" in its path, which must be a MongoDB database name ' +
        '(MongoDB refuses "." in a database name)',
    );
  });

  it('the reader refuses before connecting (no wait for a server that is not there)', async () => {
    vi.stubEnv('MONGODB_DB', 'shop.events');
    const started = Date.now();
    const error = await readAll(mongodbSource(NOWHERE)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /^MONGODB_DB must be a MongoDB database name, got "shop\.events"/,
    );
    expect((error as Error).message).not.toContain('s3cret');
    // Connecting would have waited for the server selection timeout (30 s in the string).
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('npm run report and train exit 1 with the message, before connecting', {
    timeout: 120_000,
  }, async () => {
    const env = { MONGODB_DB: 'shop.events' };
    const [report, train] = await Promise.all([
      runScript('trainer/cli/report.ts', ['--format', 'mongodb', '--input', NOWHERE], { env }),
      runScript(
        'trainer/cli/train.ts',
        ['--format', 'mongodb', '--input', NOWHERE, '--out', '/nonexistent/bundle'],
        {
          env,
        },
      ),
    ]);
    for (const result of [report, train]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error: MONGODB_DB must be a MongoDB database name, got "shop\.events" \(MongoDB refuses "\." in a database name\)/,
      );
      expect(result.stderr).not.toContain('s3cret');
    }
  });
});
