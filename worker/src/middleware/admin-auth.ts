import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { ApiError } from '../errors';

const encoder = new TextEncoder();

/** Constant-time equality of two secrets: both hashed to 32 bytes first, so not even the length leaks. */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * `Authorization: Bearer <ADMIN_TOKEN>` for operator endpoints. Without an ADMIN_TOKEN secret the
 * endpoints are off (404), so a deployment never runs them unprotected.
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuth(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    if (!expected)
      throw new ApiError(404, 'not_found', 'Admin endpoints are disabled (no ADMIN_TOKEN secret)');
    const header = c.req.header('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!given || !(await tokensEqual(given, expected))) {
      c.header('www-authenticate', 'Bearer');
      throw new ApiError(401, 'unauthorized', 'Send Authorization: Bearer <ADMIN_TOKEN>');
    }
    await next();
  };
}
