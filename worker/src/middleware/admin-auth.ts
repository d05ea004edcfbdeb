import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { secretsEqual } from '../constant-time';
import { ApiError } from '../errors';

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
    if (!given || !(await secretsEqual(given, expected))) {
      c.header('www-authenticate', 'Bearer');
      throw new ApiError(401, 'unauthorized', 'Send Authorization: Bearer <ADMIN_TOKEN>');
    }
    await next();
  };
}
