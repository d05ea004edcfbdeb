import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';

/**
 * Turns a thrown value that is not an Error (a string, a plain object a library rejects with) into
 * one. Hono gives only Errors to the app's error handler and lets anything else escape, so the
 * runtime answered a bare 500: not the JSON error format, and without the CORS headers a shop's page
 * needs to read it. Mounted early, so every route and middleware after it is covered.
 */
export function nonErrorThrowsAsErrors(): MiddlewareHandler<AppEnv> {
  return async function nonErrorThrowsAsErrors(_c, next) {
    try {
      await next();
    } catch (thrown) {
      if (thrown instanceof Error) throw thrown;
      throw new Error(`A value that is not an Error was thrown (${typeof thrown})`, { cause: thrown });
    }
  };
}
