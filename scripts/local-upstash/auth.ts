import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Why a request was not let in, or `undefined` when its token matches. */
export type AuthFailure = 'missing' | 'invalid';

/**
 * Checks the Upstash credentials of a request: `Authorization: Bearer <token>`, or the `_token` query
 * parameter Upstash also accepts. Tokens are compared as SHA-256 digests with `timingSafeEqual`, so the
 * comparison takes the same time whatever the token's length or how much of it matches.
 */
export function checkToken(
  request: IncomingMessage,
  query: URLSearchParams,
  expectedToken: string,
): AuthFailure | undefined {
  const presented = bearerToken(request.headers.authorization) ?? query.get('_token') ?? undefined;
  if (presented === undefined || presented === '') {
    return 'missing';
  }
  return timingSafeEqual(digest(presented), digest(expectedToken)) ? undefined : 'invalid';
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1];
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
