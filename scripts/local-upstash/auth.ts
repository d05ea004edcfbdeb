import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The body of Upstash's 401, word for word, for a missing and a wrong token alike: code written against
 * this server (an error handler, a test matching the message) then behaves the same on Upstash.
 * Source: Upstash's troubleshooting page "WRONGPASS invalid or missing auth token" (redis/troubleshooting).
 */
export const UNAUTHORIZED_MESSAGE = 'WRONGPASS invalid or missing auth token';

/**
 * Whether a request carries the Upstash credentials: `Authorization: Bearer <token>`, or the `_token` query
 * parameter Upstash also accepts. Tokens are compared as SHA-256 digests with `timingSafeEqual`, so the
 * comparison takes the same time whatever the token's length or how much of it matches.
 */
export function hasValidToken(
  request: IncomingMessage,
  query: URLSearchParams,
  expectedToken: string,
): boolean {
  const presented = bearerToken(request.headers.authorization) ?? query.get('_token') ?? undefined;
  if (presented === undefined || presented === '') {
    return false;
  }
  return timingSafeEqual(digest(presented), digest(expectedToken));
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
