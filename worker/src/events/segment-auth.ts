import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { secretsEqual } from '../constant-time';
import { ApiError } from '../errors';

/**
 * Segment's write-key authentication: HTTP Basic with the write key as the user name and an
 * empty password (what analytics-node and Segment's HTTP API send), or `writeKey` in the JSON
 * body. Compared in constant time with the `SEGMENT_WRITE_KEY` secret. Runs after the body is
 * parsed (`acceptJsonBody`).
 */
export function requireSegmentWriteKey(): MiddlewareHandler<AppEnv> {
  return async function requireSegmentWriteKey(c, next) {
    const expected = c.env.SEGMENT_WRITE_KEY;
    if (!expected) {
      throw new ApiError(
        401,
        'segment_not_configured',
        'The Segment-compatible intake is off: set the SEGMENT_WRITE_KEY secret (wrangler secret put SEGMENT_WRITE_KEY)',
      );
    }
    const given = writeKeyFromHeader(c.req.header('authorization')) ?? writeKeyFromBody(await c.req.json());
    if (given === undefined || !(await secretsEqual(given, expected))) {
      c.header('www-authenticate', 'Basic realm="rx-events"');
      throw new ApiError(401, 'invalid_write_key', 'Missing or wrong Segment write key', [
        { field: 'authorization', reason: 'expected Basic auth with the write key as user name' },
      ]);
    }
    await next();
  };
}

/**
 * Whether an `Authorization` header carries the valid write key (Basic auth only: the body is not read).
 * The rate limiter uses it to tell a Segment/RudderStack server from shoppers (middleware/rate-limit.ts).
 */
export async function headerHasSegmentWriteKey(
  header: string | undefined,
  expected: string | undefined,
): Promise<boolean> {
  if (!expected) return false;
  const given = writeKeyFromHeader(header);
  return given !== undefined && (await secretsEqual(given, expected));
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
