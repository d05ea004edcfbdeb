import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { secretsEqual } from '../constant-time';
import type { Env } from '../env';
import { ApiError } from '../errors';

/**
 * Segment's write-key authentication: HTTP Basic with the write key as the user name and an
 * empty password (what analytics-node and Segment's HTTP API send), or `writeKey` in the JSON
 * body. Compared in constant time with the `SEGMENT_WRITE_KEY` secret and, where set, the server
 * sources' `SEGMENT_SERVER_WRITE_KEY` (either is taken; both are always compared, so the time does
 * not tell which one a guess came close to). Runs after the body is parsed (`acceptJsonBody`).
 */
export function requireSegmentWriteKey(): MiddlewareHandler<AppEnv> {
  return async function requireSegmentWriteKey(c, next) {
    const keys = [usableWriteKey(c.env.SEGMENT_WRITE_KEY), serverWriteKey(c.env)].filter(
      (key) => key !== undefined,
    );
    if (keys.length === 0) {
      throw new ApiError(
        401,
        'segment_not_configured',
        'The Segment-compatible intake is off: set the SEGMENT_WRITE_KEY secret (wrangler secret put SEGMENT_WRITE_KEY)',
      );
    }
    const given = writeKeyFromHeader(c.req.header('authorization')) ?? writeKeyFromBody(await c.req.json());
    const matches = given === undefined ? [] : await Promise.all(keys.map((key) => secretsEqual(given, key)));
    if (!matches.includes(true)) {
      c.header('www-authenticate', 'Basic realm="rx-events"');
      throw new ApiError(401, 'invalid_write_key', 'Missing or wrong Segment write key', [
        { field: 'authorization', reason: 'expected Basic auth with the write key as user name' },
      ]);
    }
    await next();
  };
}

/**
 * Whether an `Authorization` header carries `expected` as its write key (Basic auth only: the body is
 * not read). The rate limiter uses it with `SEGMENT_SERVER_WRITE_KEY` to tell a Segment/RudderStack
 * server from shoppers (middleware/rate-limit.ts).
 */
export async function headerHasSegmentWriteKey(
  header: string | undefined,
  expected: string | undefined,
): Promise<boolean> {
  const key = usableWriteKey(expected);
  if (key === undefined) return false;
  const given = writeKeyFromHeader(header);
  return given !== undefined && (await secretsEqual(given, key));
}

/**
 * The server sources' key, unless it is the public write key's value too (then it is as public, and
 * exempts nothing: `/healthz` `config` names the problem, segmentKeysProblem).
 */
export function serverWriteKey(
  env: Pick<Env, 'SEGMENT_WRITE_KEY' | 'SEGMENT_SERVER_WRITE_KEY'>,
): string | undefined {
  const key = usableWriteKey(env.SEGMENT_SERVER_WRITE_KEY);
  return key !== undefined && key !== env.SEGMENT_WRITE_KEY ? key : undefined;
}

/**
 * A write key as the worker uses it: undefined when unset, empty or only whitespace. A blank key is no
 * secret (anyone sends Basic " :"), so it opens no intake and exempts nobody from the rate limit, as a
 * blank USER_ID_SECRET signs nothing; `/healthz` names it (blankWriteKeyProblems).
 */
function usableWriteKey(key: string | undefined): string | undefined {
  return key !== undefined && key.trim() !== '' ? key : undefined;
}

/** What `/healthz` and the log say of each write key set to only whitespace: names, never a value. */
export function blankWriteKeyProblems(
  env: Pick<Env, 'SEGMENT_WRITE_KEY' | 'SEGMENT_SERVER_WRITE_KEY'>,
): string[] {
  const blank = (['SEGMENT_WRITE_KEY', 'SEGMENT_SERVER_WRITE_KEY'] as const).filter(
    (name) => env[name] !== undefined && env[name] !== '' && usableWriteKey(env[name]) === undefined,
  );
  return blank.map(
    (name) =>
      `${name} is set but blank, so it is no secret: it is taken as unset until it gets a value ` +
      '(e.g. openssl rand -base64 32) or is removed',
  );
}

/** What `/healthz` and the log say when the two write keys are one: their names, never a value. */
export function segmentKeysProblem(
  env: Pick<Env, 'SEGMENT_WRITE_KEY' | 'SEGMENT_SERVER_WRITE_KEY'>,
): string | undefined {
  const key = usableWriteKey(env.SEGMENT_SERVER_WRITE_KEY);
  if (key === undefined || key !== env.SEGMENT_WRITE_KEY) return undefined;
  return (
    'SEGMENT_SERVER_WRITE_KEY and SEGMENT_WRITE_KEY are the same secret, so the server key is as public ' +
    'as a browser source makes the write key: it exempts nothing from the rate limit until it gets a ' +
    'value of its own (e.g. openssl rand -base64 32, then give it to the server sources)'
  );
}

function writeKeyFromHeader(header: string | undefined): string | undefined {
  const match = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!match?.[1]) return undefined;
  let decoded: string;
  try {
    decoded = atob(match[1]);
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(0, colon);
}

function writeKeyFromBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const key = (body as Record<string, unknown>).writeKey;
  return typeof key === 'string' ? key : undefined;
}
