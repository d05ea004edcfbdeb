import type { Context, Hono } from 'hono';
import { METHOD_NAME_ALL } from 'hono/router';
import type { RouterRoute } from 'hono/types';
import type { AppEnv } from '../app-env';
import { errorBody } from '../errors';

/** The methods a route can be declared with, in the order `Allow` lists them. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The 405 for a path some route answers with other methods than the request's, with `Allow` (RFC 9110
 * §15.5.6) and the API's error format; undefined when no route has the path (a 404 then). Hono has no
 * 405 of its own: a method no route takes reaches the not-found handler like an unknown path, and
 * answered `404 No route`, which sent a client that had the path right looking for a typo in it.
 *
 * Asks the app's own router, so `Allow` is what routing does (its strictness about a trailing slash
 * included) and no list of routes can drift from it. Middleware and the proxy's catch-all are mounted
 * for every method (`ALL`) and answer no method by themselves, so they are not counted. HEAD is
 * allowed wherever GET is (Hono answers it with the GET route).
 */
export function methodNotAllowed(app: Hono<AppEnv>, c: Context<AppEnv>): Response | undefined {
  const path = c.req.path;
  const allowed = METHODS.filter((method) => {
    const matched: ReadonlyArray<readonly [readonly [unknown, RouterRoute], unknown]> = app.router.match(
      method,
      path,
    )[0];
    return matched.some(([[, route]]) => route.method !== METHOD_NAME_ALL);
  });
  if (allowed.length === 0) return undefined;
  const allow = allowed.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])).join(', ');
  c.header('allow', allow);
  return c.json(
    errorBody('method_not_allowed', `${c.req.method} is not allowed on ${path}`, [
      { field: 'method', reason: `allowed: ${allow}` },
    ]),
    405,
  );
}
